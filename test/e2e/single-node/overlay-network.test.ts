import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/api/index.js';
import { LAB_TOOLS, run, skipE2e, TestLab, tsswarm, type Run } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

// One lab node (its own network namespace, daemon and data root): every device, nft table and
// task namespace the overlay makes lives there or under /run/netns, and traffic stays inside.
const L = `nw${randomBytes(2).toString('hex')}`;
const skip = skipE2e('overlay network e2e', LAB_TOOLS);

// busybox httpd serving the task's hostname (its container id), so a reply says who answered.
const httpd = ['sh', '-c', 'hostname > /tmp/index.html; exec httpd -f -p 80 -h /tmp'];

describe.skipIf(skip)('overlay networks on a one-node lab (root)', () => {
  let lab: TestLab | undefined;
  let nodeData = '';
  let nodeExec = '';
  let nodeAddr = '';
  let nodePid = 0;

  const ts = (...args: string[]) => tsswarm(['-H', `unix://${nodeExec}/tsswarm.sock`, ...args]);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await ts(...args);
    if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  /** Runs a command in the first running container of a service (runtime verbs, no daemon). */
  const inTask = async (service: string, cmd: string[]): Promise<Run> => {
    const rt = ['--data-root', nodeData, '--exec-root', nodeExec];
    const ids = await tsswarm([
      ...rt,
      'ps',
      '-q',
      '-f',
      `label=com.docker.swarm.service.name=${service}`,
    ]);
    const id = ids.stdout.split('\n')[0] ?? '';
    if (id === '') throw new Error(`no running container of ${service}`);
    return tsswarm([...rt, 'exec', id, ...cmd]);
  };
  /** In the lab node's namespace (loopback and the node's lab address live there). */
  const inNode = (cmd: string[]): Promise<Run> =>
    run('nsenter', [`--net=/proc/${nodePid}/ns/net`, '--', ...cmd]);
  const fetch = (where: (cmd: string[]) => Promise<Run>, url: string) =>
    where(['timeout', '3', 'busybox', 'wget', '-qO-', url]).then(
      (r) => (r.code === 0 ? r.stdout.trim() : `error ${r.code}: ${r.stderr.trim()}`),
      (err: unknown) => `error: ${(err as Error).message}`,
    );
  /** Task namespaces the worker holds (bind mounts under the node's exec root). */
  const taskNetns = (): string[] =>
    existsSync(join(nodeExec, 'netns')) ? readdirSync(join(nodeExec, 'netns')) : [];
  const nodeDevices = async (): Promise<string[]> =>
    (await inNode(['ip', '-br', 'link'])).stdout
      .split('\n')
      .map((l) => l.split(/\s+/)[0] ?? '')
      .filter((n) => n.startsWith('tsw'));
  const nodeTables = async (): Promise<string[]> =>
    (await inNode(['nft', 'list', 'tables'])).stdout.split('\n').filter((l) => l.includes(' tsw'));

  beforeAll(async () => {
    lab = await TestLab.create(L, { managers: 1, workers: 0 });
    const rows = JSON.parse((await lab.lab(['ls', '--format', 'json'])).stdout) as {
      lab: string;
      address: string;
      pid: number;
      socket: string;
    }[];
    const row = rows.find((x) => x.lab === L);
    if (!row) throw new Error('lab node not listed');
    nodeExec = dirname(row.socket);
    nodeData = join(dirname(nodeExec), 'data');
    nodeAddr = row.address;
    nodePid = row.pid;
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 180_000);

  it('creates, lists and inspects overlay networks; refuses bad input and changes nothing', async () => {
    await ok('network', 'create', '--driver', 'overlay', '--label', 'tier=front', 'front');
    await ok('network', 'create', '--internal', 'back');
    await ok('network', 'create', '--subnet', '10.20.0.0/24', '--gateway', '10.20.0.254', 'other');
    const ls = await ok('network', 'ls');
    expect(ls.split('\n')[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(ls).toMatch(/\bfront\s+overlay\s+swarm\b/);
    const [other] = JSON.parse(await ok('network', 'inspect', 'other')) as {
      IPAM: { Config: { Subnet: string; Gateway: string }[] };
      Internal: boolean;
    }[];
    expect(other?.IPAM.Config).toEqual([{ Subnet: '10.20.0.0/24', Gateway: '10.20.0.254' }]);
    const [back] = JSON.parse(await ok('network', 'inspect', 'back')) as { Internal: boolean }[];
    expect(back?.Internal).toBe(true);

    const before = await ok('network', 'ls', '-q');
    const overlap = await ts('network', 'create', '--subnet', '10.20.0.128/25', 'clash');
    expect(overlap.code).toBe(125);
    expect(overlap.stderr).toMatch(
      /10\.20\.0\.128\/25 overlaps network other \(10\.20\.0\.0\/24\)/,
    );
    const unknown = await ts(
      'service',
      'create',
      '-d',
      '--name',
      'lost',
      '--network',
      'nope',
      'busybox',
      'sleep',
      '60',
    );
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toMatch(/network nope not found/);
    expect(await ok('network', 'ls', '-q')).toBe(before);
    expect(await ok('service', 'ls', '-q')).toBe('');
  });

  it('services on one network reach each other by name; the VIP spreads over the replicas', async () => {
    await ok(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '2',
      '--network',
      'front',
      '-p',
      '8080:80',
      'busybox',
      ...httpd,
    );
    await ok(
      'service',
      'create',
      '--name',
      'client',
      '--network',
      'front',
      'busybox',
      'sleep',
      '600',
    );
    const tasks = (
      await until(() => fetch((c) => inTask('client', c), 'http://web/'), {
        what: 'web replies',
        accept: (v) => !v.startsWith('error'),
        timeoutMs: 30_000,
        intervalMs: 100,
      })
    ).length;
    expect(tasks).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await fetch((c) => inTask('client', c), 'http://web/'));
    expect(seen.size).toBe(2);
    expect([...seen].every((h) => /^[0-9a-f]{12}$/.test(h))).toBe(true);

    const lookup = await inTask('client', ['nslookup', 'tasks.web']);
    const addrs = [...lookup.stdout.matchAll(/Address: (10\.\d+\.\d+\.\d+)/g)].map((m) => m[1]);
    expect(addrs).toHaveLength(2);
    const svc = (JSON.parse(await ok('service', 'inspect', 'web')) as Service[])[0]!;
    const vip = svc.Endpoint?.VirtualIPs?.find(
      (v) => v.NetworkID === svc.Spec.TaskTemplate.Networks?.[0]?.Target,
    );
    const vipLookup = await inTask('client', ['nslookup', 'web']);
    expect(vipLookup.stdout).toContain(`Address: ${vip?.Addr.split('/')[0]}`);
    expect(await ok('service', 'ls')).toMatch(/\*:8080->80\/tcp/);
  });

  it('a service on another network can neither resolve nor reach web', async () => {
    await ok(
      'service',
      'create',
      '--name',
      'loner',
      '--network',
      'other',
      'busybox',
      'sleep',
      '600',
    );
    const r = await inTask('loner', ['nslookup', 'web']);
    expect(r.stdout).not.toMatch(/Address: 10\.0\./);
    const svc = (JSON.parse(await ok('service', 'inspect', 'web')) as Service[])[0]!;
    const vip = svc.Endpoint?.VirtualIPs?.[0]?.Addr.split('/')[0] ?? '';
    expect(await fetch((c) => inTask('loner', c), `http://${vip}/`)).toMatch(/^error/);
  });

  it('an --internal network has no way out', async () => {
    await ok(
      'service',
      'create',
      '--name',
      'inside',
      '--network',
      'back',
      'busybox',
      'sleep',
      '600',
    );
    const routes = await inTask('inside', ['ip', 'route']);
    expect(routes.code).toBe(0);
    expect(routes.stdout).not.toMatch(/default/);
    expect(await fetch((c) => inTask('inside', c), `http://${nodeAddr}:8080/`)).toMatch(/^error/);
  });

  it('a published port answers on 127.0.0.1 and on the node address (routing mesh)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      seen.add(await fetch(inNode, 'http://127.0.0.1:8080/'));
      seen.add(await fetch(inNode, `http://${nodeAddr}:8080/`));
    }
    expect([...seen].every((h) => /^[0-9a-f]{12}$/.test(h))).toBe(true);
    expect(seen.size).toBe(2);
    // From inside a task too, as Docker's mesh: loner is on another overlay network than web.
    const fromTask = new Set<string>();
    for (let i = 0; i < 4; i++) {
      fromTask.add(await fetch((c) => inTask('loner', c), `http://${nodeAddr}:8080/`));
    }
    expect(fromTask).toEqual(seen);
  });

  it('stack deploy creates <stack>_default and its networks, services find each other by short name; stack rm removes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-stack-'));
    try {
      const file = join(dir, 'compose.yml');
      await writeFile(
        file,
        [
          'services:',
          '  api:',
          '    image: busybox',
          `    command: ${JSON.stringify(httpd)}`,
          '    networks: [default, private]',
          '  probe:',
          '    image: busybox',
          '    command: ["sleep", "600"]',
          'networks:',
          '  private:',
          '    internal: true',
          '',
        ].join('\n'),
      );
      const out = await ok('stack', 'deploy', '-c', file, 'shop');
      expect(out).toContain('Creating network shop_default');
      expect(out).toContain('Creating network shop_private');
      const [def] = JSON.parse(await ok('network', 'inspect', 'shop_default')) as {
        Labels: Record<string, string>;
      }[];
      expect(def?.Labels['com.docker.stack.namespace']).toBe('shop');
      await until(() => fetch((c) => inTask('shop_probe', c), 'http://api/'), {
        what: 'api answers probe by its short name',
        accept: (v) => /^[0-9a-f]{12}$/.test(v),
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      // A redeploy of the same file changes nothing.
      const again = await ok('stack', 'deploy', '-c', file, 'shop');
      expect(again).not.toMatch(/Creating|Updating/);

      const ext = join(dir, 'external.yml');
      await writeFile(
        ext,
        'services:\n  x:\n    image: busybox\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n',
      );
      const missing = await ts('stack', 'deploy', '-c', ext, 'ext');
      expect(missing.code).toBe(125);
      expect(missing.stderr).toMatch(
        /network "outside" is declared as external, but could not be found/,
      );

      const rmOut = await ok('stack', 'rm', 'shop');
      expect(rmOut).toContain('Removing network shop_default');
      expect(await ok('network', 'ls')).not.toMatch(/shop_/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('service rm, network rm and swarm leave leave no device, table or namespace behind', async () => {
    const inUse = await ts('network', 'rm', 'front');
    expect(inUse.code).toBe(125);
    expect(inUse.stderr).toMatch(/network front is in use by service (web|client)/);
    await ok('service', 'rm', 'web', 'client', 'loner', 'inside');
    await until(async () => taskNetns(), {
      what: 'task namespaces gone',
      accept: (n) => n.length === 0,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    await until(nodeDevices, {
      what: 'devices gone',
      accept: (d) => d.length === 0,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await until(nodeTables, {
      what: 'nft tables gone',
      accept: (t) => t.length === 0,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await until(async () => (await ts('network', 'rm', 'front', 'back', 'other')).code, {
      what: 'networks removable',
      accept: (c) => c === 0,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(await ok('network', 'ls', '-q')).not.toMatch(/\S{12}\n\S{12}\n\S/);

    await ok('network', 'create', 'again');
    await ok(
      'service',
      'create',
      '--name',
      'last',
      '--network',
      'again',
      '-p',
      '8081:80',
      'busybox',
      ...httpd,
    );
    expect(await nodeDevices()).not.toEqual([]);
    expect(taskNetns()).toHaveLength(1);
    await ok('swarm', 'leave', '--force');
    expect(taskNetns()).toEqual([]);
    expect(await nodeDevices()).toEqual([]);
    expect(await nodeTables()).toEqual([]);
  }, 150_000);
});
