import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_TOOLS, run, skipE2e, TestLab, tsswarm } from '../../helpers/e2e.js';

// Three lab nodes (one manager, two workers): a service spread over them, a client on the
// manager, VXLAN between the lab namespaces. Traffic stays inside the lab.
const L = `nm${randomBytes(2).toString('hex')}`;
const skip = skipE2e('overlay mesh e2e', LAB_TOOLS);

const httpd = ['sh', '-c', 'hostname > /tmp/index.html; exec httpd -f -p 80 -h /tmp'];

interface NodeRow {
  lab: string;
  name: string;
  address: string;
  pid: number;
  socket: string;
}

describe.skipIf(skip)('overlay networks across a 3-node lab (root)', () => {
  let lab: TestLab | undefined;
  let nodes: NodeRow[] = [];
  const manager = (): NodeRow => nodes.find((n) => n.name === 'manager1')!;
  const ok = async (...args: string[]): Promise<string> => {
    const r = await tsswarm(['-H', `unix://${manager().socket}`, ...args], { timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  let clientId = '';
  const clientFetch = async (url: string): Promise<string> => {
    const exec = dirname(manager().socket);
    const rt = ['--data-root', join(dirname(exec), 'data'), '--exec-root', exec];
    if (clientId === '') {
      const ids = await tsswarm([
        ...rt,
        'ps',
        '-q',
        '-f',
        'label=com.docker.swarm.service.name=client',
      ]);
      clientId = ids.stdout.split('\n')[0] ?? '';
    }
    const id = clientId;
    if (id === '') return 'error: no client container';
    const r = await tsswarm([...rt, 'exec', id, 'timeout', '3', 'wget', '-qO-', url]);
    return r.code === 0 ? r.stdout.trim() : `error ${r.code}: ${r.stderr.trim()}`;
  };

  beforeAll(async () => {
    lab = await TestLab.create(L, { managers: 1, workers: 2 });
    nodes = (JSON.parse((await lab.lab(['ls', '--format', 'json'])).stdout) as NodeRow[]).filter(
      (n) => n.lab === L,
    );
  }, 240_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 180_000);

  it('reaches every replica on other nodes by name, publishes on every node, follows a scale-down', async () => {
    await ok('network', 'create', 'front');
    await ok(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '3',
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
      '--constraint',
      'node.role==manager',
      'busybox',
      'sleep',
      '600',
    );
    const ps = await ok('service', 'ps', 'web');
    expect(new Set([...ps.matchAll(/\b(\S+-(?:manager|worker)\d)\b/g)].map((m) => m[1])).size).toBe(
      3,
    );

    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(await clientFetch('http://web/'));
    expect(seen.size).toBe(3);
    expect([...seen].every((h) => /^[0-9a-f]{12}$/.test(h))).toBe(true);

    for (const n of nodes) {
      const r = await run('nsenter', [
        `--net=/proc/${manager().pid}/ns/net`,
        '--',
        'timeout',
        '3',
        'busybox',
        'wget',
        '-qO-',
        `http://${n.address}:8080/`,
      ]);
      expect(r.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
      expect(seen.has(r.stdout.trim())).toBe(true);
      // From inside a task too (client is on front, not on ingress), as Docker's mesh answers.
      const fromTask = new Set<string>();
      for (let i = 0; i < 3; i++) fromTask.add(await clientFetch(`http://${n.address}:8080/`));
      expect(fromTask).toEqual(seen);
    }

    // The promise: within 2 s of the scale-down only the remaining task answers. The
    // removed tasks' httpd ignores SIGTERM (pid 1), so they run on through their grace period:
    // a VIP that still listed them would be seen answering from them, not failing.
    await ok('service', 'scale', '--detach', 'web=1');
    const scaledAt = Date.now();
    const late: string[] = [];
    while (late.length < 6 && Date.now() - scaledAt < 30_000) {
      const startedMs = Date.now() - scaledAt;
      const host = await clientFetch('http://web/');
      if (startedMs >= 2000) late.push(host);
    }
    expect(late).toHaveLength(6);
    expect(new Set(late).size).toBe(1);
    expect(seen.has(late[0] ?? '')).toBe(true);
  }, 180_000);
});
