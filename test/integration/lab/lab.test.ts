import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecLabHost,
  createLab,
  defaultLabConfig,
  healNode,
  partitionNode,
  detectCgroupRoot,
  removeLab,
  type LabContext,
  type LabHost,
  type LabState,
} from '../../../src/lab/index.js';
import { ImageStore } from '../../../src/runtime/index.js';
import { busyboxImage } from '../../helpers/images.js';
import { until } from '../../helpers/until.js';

// Lab names are host-wide: a suffix keeps this run clear of a concurrent one (another checkout).
const L = `lt${randomBytes(2).toString('hex')}`;
const repo = join(import.meta.dirname, '../../..');
const cli = join(repo, 'bin/tsswarm');
const isRoot = process.getuid?.() === 0;
const tools = ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/bin/busybox', '/usr/sbin/nft'];
const missing = tools.filter((t) => !existsSync(t));
const skipReason = !isRoot ? 'needs root' : missing.length > 0 ? `needs ${missing.join(', ')}` : '';
if (skipReason) console.warn(`lab integration tests skipped: ${skipReason}`);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// Each node serves HTTP on its lab address: a stand-in for the daemon through the same launcher.
const httpdCommand = JSON.stringify([
  'busybox',
  'httpd',
  '-f',
  '-p',
  '{address}:8080',
  '-h',
  '{dataRoot}',
]);

/** One ICMP echo from one lab namespace to a lab address: traffic never leaves the lab. */
async function reaches(fromNetns: string, address: string): Promise<boolean> {
  const r = await run('nsenter', [
    `--net=/run/netns/${fromNetns}`,
    '--',
    'busybox',
    'ping',
    '-c',
    '1',
    '-W',
    '1',
    address,
  ]);
  return r.code === 0;
}

const netnsList = async (): Promise<string[]> =>
  (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');

const labCgroups = (lab: string): string[] =>
  readdirSync('/sys/fs/cgroup', { withFileTypes: true }).flatMap((h) => {
    const dir = join('/sys/fs/cgroup', h.name);
    if (!existsSync(dir)) return [];
    try {
      return readdirSync(dir)
        .filter((e) => e.startsWith(`tsswarm-lab-${lab}-`))
        .map((e) => join(dir, e));
    } catch {
      return [];
    }
  });

const mountsUnder = (dir: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`));

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

interface NodeRow {
  lab: string;
  name: string;
  role: string;
  address: string;
  pid: number | null;
  socket: string;
  state: string;
  partitioned: boolean;
}

describe.skipIf(skipReason !== '')('tsswarm lab (root, real namespaces)', () => {
  let dataRoot: string;
  let ctx: LabContext;
  const labs = [`${L}`, `${L}2`, `${L}fail`, `${L}crash`, `${L}lost`, `${L}int`];
  const extraPids: number[] = [];
  const lab = (args: string[]) => run(cli, ['--data-root', dataRoot, 'lab', ...args]);
  const ls = async (): Promise<NodeRow[]> => {
    const r = await lab(['ls', '--format', 'json']);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as NodeRow[];
  };

  beforeAll(async () => {
    if (!existsSync(join(repo, 'dist/tsswarm.mjs'))) {
      await run('node', [join(repo, 'scripts/build.mjs')], 120_000);
    }
    dataRoot = await mkdtemp('/tmp/tsswarm-lab-');
    await busyboxImage(dataRoot);
    await (await ImageStore.open(dataRoot)).tag('busybox:latest', 'extra:1');
    ctx = { dataRoot, host: new ExecLabHost(), cgroups: detectCgroupRoot() };
  });

  afterAll(async () => {
    for (const pid of extraPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const name of labs) await removeLab(ctx, name).catch(() => undefined);
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('refuses bad input with a clear error and makes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--managers', '0'], /at least 1 manager/],
      [['--subnet', '10.1.2.3/24'], /did you mean 10\.1\.2\.0\/24/],
      [['--subnet', '8.8.8.0/24'], /private range/],
      [['--workers', 'two'], /--workers "two"/],
      [['--image', 'nope:1'], /image nope:1 is not in/],
    ];
    for (const [flags, message] of cases) {
      const r = await lab(['create', `${L}`, ...flags, '--node-command', httpdCommand]);
      expect(r.code, flags.join(' ')).toBe(125);
      expect(r.stderr).toMatch(message);
    }
    expect((await lab(['create', 'Bad_Name'])).stderr).toMatch(/lab name "Bad_Name"/);
    expect(existsSync(join(dataRoot, 'labs', `${L}`))).toBe(false);
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}-`))).toEqual([]);
  });

  it('creates 2 managers and 1 worker, each in its own namespace on the lab bridge', async () => {
    const r = await lab([
      'create',
      `${L}`,
      '--managers',
      '2',
      '--workers',
      '1',
      '--subnet',
      '172.30.77.0/24',
      '--image',
      'extra:1',
      '--node-command',
      httpdCommand,
    ]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r).toMatchObject({ code: 0, stdout: `${L}\n` });

    const names = await netnsList();
    for (const n of ['hub', 'manager1', 'manager2', 'worker1']) {
      expect(names).toContain(`tsswarm-lab-${L}-${n}`);
    }
    // Nothing of the lab in the host's own namespace: no veth, no bridge, no address.
    const hostLinks = (await run('ip', ['-o', 'link'])).stdout;
    expect(hostLinks).not.toMatch(/v-manager1|v-worker1|lab0/);
    expect((await run('ip', ['-o', 'addr'])).stdout).not.toMatch(/172\.30\.77\./);

    const rows = await ls();
    expect(rows.map((x) => [x.lab, x.name, x.role, x.address, x.state])).toEqual([
      [`${L}`, 'manager1', 'manager', '172.30.77.2', 'running'],
      [`${L}`, 'manager2', 'manager', '172.30.77.3', 'running'],
      [`${L}`, 'worker1', 'worker', '172.30.77.4', 'running'],
    ]);
    for (const row of rows) {
      expect(row.socket).toBe(join(dataRoot, `labs/${L}`, row.name, 'exec/tsswarm.sock'));
      expect(alive(row.pid ?? 0)).toBe(true);
      const store = await ImageStore.open(join(dataRoot, `labs/${L}`, row.name, 'data'));
      expect((await store.resolve('busybox:latest')).ref).toBe('busybox:latest');
      expect((await store.resolve('extra:1')).ref).toBe('extra:1');
      // The process lives in the node's namespaces (network, hostname) and its cgroup parent.
      const hostname = await run('nsenter', [`--target=${row.pid}`, '--uts', 'hostname']);
      expect(hostname.stdout.trim()).toBe(`${L}-${row.name}`);
      const nsOfPid = (await run('ip', ['netns', 'identify', String(row.pid)])).stdout.trim();
      expect(nsOfPid).toBe(`tsswarm-lab-${L}-${row.name}`);
      expect(readFileSync(`/proc/${row.pid}/cgroup`, 'utf8')).toContain(
        `/tsswarm-lab-${L}-${row.name}/daemon`,
      );
    }
    const state = JSON.parse(
      readFileSync(join(dataRoot, `labs/${L}/lab.json`), 'utf8'),
    ) as LabState;
    expect(state.phase).toBe('ready');
    expect(state.nodes[0]?.process?.startTime).toMatch(/^[0-9]+$/);

    const env = await lab(['env', `${L}`, 'worker1']);
    expect(env.stdout).toBe(`export TSSWARM_HOST=unix://${rows[2]?.socket}\n`);
    expect((await lab(['env', `${L}`, 'worker7'])).stderr).toContain(
      `lab ${L} has no node worker7`,
    );
  });

  it('connects every node to every other, over the bridge only', async () => {
    const addr = { manager1: '172.30.77.2', manager2: '172.30.77.3', worker1: '172.30.77.4' };
    for (const [from] of Object.entries(addr)) {
      for (const [to, a] of Object.entries(addr)) {
        if (to !== from)
          expect(await reaches(`tsswarm-lab-${L}-${from}`, a), `${from}->${to}`).toBe(true);
      }
    }
    // A TCP round trip to the node's own process, across the lab.
    const page = join(dataRoot, `labs/${L}/worker1/data/index.html`);
    await writeFile(page, 'lab ok\n');
    const get = await run('nsenter', [
      `--net=/run/netns/tsswarm-lab-${L}-manager1`,
      '--',
      'busybox',
      'timeout',
      '5',
      'busybox',
      'wget',
      '-q',
      '-O',
      '-',
      'http://172.30.77.4:8080/index.html',
    ]);
    expect(get.stdout).toBe('lab ok\n');
  });

  it('partition cuts a node off and heal restores it', async () => {
    expect((await lab(['partition', `${L}`, 'worker1'])).code).toBe(0);
    expect(await reaches(`tsswarm-lab-${L}-manager1`, '172.30.77.4')).toBe(false);
    expect(await reaches(`tsswarm-lab-${L}-worker1`, '172.30.77.2')).toBe(false);
    expect(await reaches(`tsswarm-lab-${L}-manager1`, '172.30.77.3')).toBe(true);
    expect((await ls()).find((x) => x.name === 'worker1')?.partitioned).toBe(true);
    // Twice is fine: partition and heal are idempotent.
    expect((await lab(['partition', `${L}`, 'worker1'])).code).toBe(0);
    expect((await lab(['heal', `${L}`, 'worker1'])).code).toBe(0);
    expect((await lab(['heal', `${L}`, 'worker1'])).code).toBe(0);
    await until(() => reaches(`tsswarm-lab-${L}-manager1`, '172.30.77.4'), {
      what: 'worker1 reachable again',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect((await ls()).find((x) => x.name === 'worker1')?.partitioned).toBe(false);
  });

  it('kill stops the node process by its pid and start runs a new one', async () => {
    const before = (await ls()).find((x) => x.name === 'manager2');
    const killed = await lab(['kill', `${L}`, 'manager2']);
    expect(killed).toMatchObject({ code: 0, stdout: `${before?.pid}\n` });
    expect(alive(before?.pid ?? 0)).toBe(false);
    expect((await ls()).find((x) => x.name === 'manager2')?.state).toBe('exited');
    expect((await lab(['kill', `${L}`, 'manager2'])).stderr).toMatch(/not running/);

    const started = await lab(['start', `${L}`, 'manager2']);
    expect(started.code).toBe(0);
    const after = (await ls()).find((x) => x.name === 'manager2');
    expect(after?.state).toBe('running');
    expect(after?.pid).not.toBe(before?.pid);
    expect(started.stdout).toBe(`${after?.pid}\n`);
    expect((await lab(['start', `${L}`, 'manager2'])).stderr).toMatch(/already running/);
    await until(() => reaches(`tsswarm-lab-${L}-manager1`, '172.30.77.3'), {
      what: 'manager2 reachable after restart',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
  });

  it('concurrent verbs on one lab lose no change of lab.json', async () => {
    const nodes = ['manager1', 'manager2', 'worker1'];
    // In one process the reads and writes interleave at every await: without the lock, the
    // last writer would win.
    await Promise.all(nodes.map((n) => partitionNode(ctx, L, n)));
    expect((await ls()).filter((x) => x.lab === L).map((x) => x.partitioned)).toEqual([
      true,
      true,
      true,
    ]);
    await Promise.all(nodes.map((n) => healNode(ctx, L, n)));
    expect((await ls()).filter((x) => x.lab === L).map((x) => x.partitioned)).toEqual([
      false,
      false,
      false,
    ]);
    expect(existsSync(join(dataRoot, `labs/${L}/lock`))).toBe(false);
  });

  it('refuses an existing name and lets a second lab coexist', async () => {
    const dup = await lab(['create', `${L}`, '--node-command', httpdCommand]);
    expect(dup.code).toBe(125);
    expect(dup.stderr).toContain(`lab ${L} already exists`);
    expect((await ls()).filter((x) => x.lab === `${L}`)).toHaveLength(3);

    const r = await lab(['create', `${L}2`, '--workers', '0', '--node-command', httpdCommand]);
    expect(r.code).toBe(0);
    const rows = await ls();
    expect(rows.filter((x) => x.lab === `${L}2`).map((x) => x.address)).toEqual(['172.30.0.2']);
    expect((await lab(['rm', `${L}2`])).code).toBe(0);
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}2-`))).toEqual([]);
    expect((await ls()).map((x) => x.lab)).toEqual([`${L}`, `${L}`, `${L}`]);
  });

  it('keeps a lab name to one data-root, and rm from another touches nothing of it', async () => {
    const other = await mkdtemp('/tmp/tsswarm-lab-other-');
    try {
      await busyboxImage(other);
      const otherLab = (args: string[]) => run(cli, ['--data-root', other, 'lab', ...args]);
      const taken = await otherLab(['create', L, '--node-command', httpdCommand]);
      expect(taken.code).toBe(125);
      expect(taken.stderr).toContain(`lab name ${L} is taken on this host by the lab in`);
      expect(await otherLab(['rm', L])).toMatchObject({ code: 0 });
      expect((await ls()).filter((x) => x.lab === L && x.state === 'running')).toHaveLength(3);
      expect(await reaches(`tsswarm-lab-${L}-manager1`, '172.30.77.4')).toBe(true);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('rolls back a create that fails half-way', async () => {
    const real = new ExecLabHost();
    // Fail the hub's links (the worker's veth among them): every namespace exists by then.
    const failing: LabHost = {
      run: (cmd, args, input) =>
        (input ?? '').includes('link add v-worker1')
          ? Promise.resolve({ code: 2, stdout: '', stderr: 'injected failure' })
          : real.run(cmd, args, input),
      spawnDetached: (argv, env, log) => real.spawnDetached(argv, env, log),
      startTimeOf: (pid) => real.startTimeOf(pid),
      signal: (pid, s) => real.signal(pid, s),
    };
    const config = defaultLabConfig([process.execPath, join(repo, 'dist/tsswarm.mjs')]);
    config.managers = 2;
    config.workers = 1;
    config.nodeCommand = { argv: ['sleep', '1000'], waitForSocket: false };
    config.cluster = 'none';
    await expect(createLab({ ...ctx, host: failing }, `${L}fail`, config)).rejects.toThrow(
      /injected failure/,
    );
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}fail-`))).toEqual([]);
    expect(labCgroups(`${L}fail`)).toEqual([]);
    expect(existsSync(join(dataRoot, `labs/${L}fail`))).toBe(false);
  });

  it('Ctrl-C during create rolls the lab back', async () => {
    const creating = spawn(
      cli,
      ['--data-root', dataRoot, 'lab', 'create', `${L}int`, '--managers', '3', '--workers', '3'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    creating.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => creating.once('exit', (code) => r(code)));
    try {
      await until(() => existsSync(`/run/netns/tsswarm-lab-${L}int-manager1`), {
        what: 'the first node namespace',
        timeoutMs: 10_000,
        intervalMs: 100,
      });
    } finally {
      creating.kill('SIGINT');
    }
    expect(await exited).toBe(125);
    expect(stderr).toMatch(/interrupted/);
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}int-`))).toEqual([]);
    expect(labCgroups(`${L}int`)).toEqual([]);
    expect(existsSync(join(dataRoot, `labs/${L}int`))).toBe(false);
  });

  it('rm cleans up after a create killed half-way', async () => {
    const creating = spawn(
      cli,
      ['--data-root', dataRoot, 'lab', 'create', `${L}crash`, '--managers', '3', '--workers', '3'],
      { stdio: 'ignore' },
    );
    const exited = new Promise((r) => creating.once('exit', r));
    try {
      await until(() => existsSync(`/run/netns/tsswarm-lab-${L}crash-manager1`), {
        what: 'the first node namespace',
        timeoutMs: 10_000,
        intervalMs: 100,
      });
    } finally {
      creating.kill('SIGKILL');
      await exited;
    }
    expect((await netnsList()).some((n) => n.startsWith(`tsswarm-lab-${L}crash-`))).toBe(true);
    expect((await lab(['kill', `${L}crash`, 'manager1'])).stderr).toMatch(/not created completely/);
    const half = (await ls()).filter((x) => x.lab === `${L}crash`);
    expect(half.length).toBe(6);
    expect(half.every((x) => x.state === 'incomplete')).toBe(true);
    expect((await lab(['rm', `${L}crash`])).code).toBe(0);
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}crash-`))).toEqual([]);
    expect(labCgroups(`${L}crash`)).toEqual([]);
    expect(mountsUnder(join(dataRoot, `labs/${L}crash`))).toEqual([]);
    expect(existsSync(join(dataRoot, `labs/${L}crash`))).toBe(false);
  });

  it('rm finds a lab by its names when lab.json is gone', async () => {
    const r = await lab(['create', `${L}lost`, '--workers', '1', '--node-command', httpdCommand]);
    expect(r.code).toBe(0);
    const pids = (await ls()).filter((x) => x.lab === `${L}lost`).map((x) => x.pid ?? 0);
    await rm(join(dataRoot, `labs/${L}lost/lab.json`));
    expect((await lab(['rm', `${L}lost`])).code).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}lost-`))).toEqual([]);
    expect(labCgroups(`${L}lost`)).toEqual([]);
    expect(mountsUnder(join(dataRoot, `labs/${L}lost`))).toEqual([]);
  });

  it('rm removes every process, mount, namespace, cgroup and file, and is idempotent', async () => {
    const rows = (await ls()).filter((x) => x.lab === `${L}`);
    const worker = join(dataRoot, `labs/${L}/worker1`);
    // What a daemon leaves behind when it dies: a mount in its data-root and a "container"
    // in a cgroup below the node's parent.
    const mnt = join(worker, 'data/overlay-like');
    await mkdir(mnt, { recursive: true });
    expect((await run('mount', ['-t', 'tmpfs', 'lab-test', mnt])).code).toBe(0);
    const ctrCgroup = `/sys/fs/cgroup/pids/tsswarm-lab-${L}-worker1/ctr-1`;
    await mkdir(ctrCgroup, { recursive: true });
    const ctr = spawn('sh', ['-c', `echo $$ > ${ctrCgroup}/cgroup.procs && exec sleep 1000`], {
      detached: true,
      stdio: 'ignore',
    });
    ctr.unref();
    extraPids.push(ctr.pid ?? 0);
    await until(() => readFileSync(`${ctrCgroup}/cgroup.procs`, 'utf8').includes(String(ctr.pid)), {
      what: 'the container process in its cgroup',
      timeoutMs: 10_000,
      intervalMs: 100,
    });

    const r = await lab(['rm', `${L}`]);
    expect(r).toMatchObject({ code: 0, stdout: `${L}\n` });
    for (const row of rows) expect(alive(row.pid ?? 0), row.name).toBe(false);
    await until(() => !alive(ctr.pid ?? 0), {
      what: 'the container process reaped',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}-`))).toEqual([]);
    expect(labCgroups(`${L}`)).toEqual([]);
    expect(mountsUnder(join(dataRoot, 'labs'))).toEqual([]);
    expect(existsSync(join(dataRoot, `labs/${L}`))).toBe(false);
    expect((await ls()).filter((x) => x.lab === `${L}`)).toEqual([]);

    const again = await lab(['rm', `${L}`]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to remove/);
  });
});

// The real thing: a daemon per node, joined into one swarm (test/e2e/multi-node/cluster.test.ts
// takes a bigger lab through failures; this one checks what the lab itself owns).
describe.skipIf(skipReason !== '')('tsswarm lab with the daemon', () => {
  let dataRoot: string;
  let ctx: LabContext;
  const lab = (args: string[], timeoutMs?: number) =>
    run(cli, ['--data-root', dataRoot, 'lab', ...args], timeoutMs);

  beforeAll(async () => {
    if (!existsSync(join(repo, 'dist/tsswarm.mjs'))) {
      await run('node', [join(repo, 'scripts/build.mjs')], 120_000);
    }
    dataRoot = await mkdtemp('/tmp/tsswarm-labd-');
    await busyboxImage(dataRoot);
    ctx = { dataRoot, host: new ExecLabHost(), cgroups: detectCgroupRoot() };
  });

  afterAll(async () => {
    await removeLab(ctx, `${L}d`).catch(() => undefined);
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('forms a swarm, runs a task on a node, and rm takes daemons, containers and mounts away', async () => {
    const hasDaemon = (await run(cli, ['daemon', '--help'])).code === 0;
    expect(hasDaemon, 'this build has `tsswarm daemon`').toBe(true);
    const created = await lab(['create', `${L}d`, '--managers', '2', '--workers', '1'], 60_000);
    expect(created.stderr).not.toMatch(/^Error/m);
    expect(created.code).toBe(0);
    expect(created.stderr).not.toMatch(/not available yet/);

    const env = (await lab(['env', `${L}d`, 'manager1'])).stdout;
    const host = /^export TSSWARM_HOST=(\S+)$/m.exec(env)?.[1] ?? '';
    const onManager = (args: string[], timeoutMs = 20_000): Promise<Result> =>
      new Promise((resolve) => {
        execFile(
          cli,
          args,
          { timeout: timeoutMs, env: { ...process.env, TSSWARM_HOST: host } },
          (err, stdout, stderr) =>
            resolve({
              code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
              stdout,
              stderr,
            }),
        );
      });
    const expected = 3;
    await until(
      async () => {
        const r = await onManager(['node', 'ls', '-q']);
        return r.code === 0 && r.stdout.trim().split('\n').length === expected;
      },
      { what: `${expected} nodes in node ls`, timeoutMs: 30_000, intervalMs: 100 },
    );
    const table = (await onManager(['node', 'ls'])).stdout;
    expect(table).toMatch(new RegExp(`${L}d-manager1 .*Leader`));
    expect(table).toContain(`${L}d-worker1`);

    const svc = await onManager(
      // On manager1, whose runc root and mounts the test looks at.
      [
        'service',
        'create',
        '--name',
        'web',
        '--constraint',
        `node.hostname==${L}d-manager1`,
        'busybox:latest',
        'sleep',
        '1000',
      ],
      40_000,
    );
    expect(svc.code, svc.stderr).toBe(0);
    const runcRoot = join(dataRoot, `labs/${L}d/manager1/exec/runc`);
    const listed = await run('runc', ['--root', runcRoot, 'list', '-f', 'json']);
    const containers = JSON.parse(listed.stdout || '[]') as { pid: number }[] | null;
    const ctrPid = containers?.[0]?.pid ?? 0;
    expect(alive(ctrPid)).toBe(true);
    // The daemon mounted the rootfs in the host's mount namespace: visible here.
    expect(mountsUnder(join(dataRoot, `labs/${L}d`)).some((m) => m.endsWith('/rootfs'))).toBe(true);

    // A SIGKILLed daemon leaves its container running (its monitor lives on, and the mounts
    // are in the host's mount namespace), and the restarted daemon finds it again.
    expect((await lab(['kill', `${L}d`, 'manager1'])).code).toBe(0);
    expect(alive(ctrPid)).toBe(true);
    expect((await lab(['start', `${L}d`, 'manager1'], 40_000)).code).toBe(0);
    await until(
      async () => {
        const ps = await onManager(['service', 'ps', 'web']);
        return ps.code === 0 && /web\.1 .*Running\s+Running/.test(ps.stdout);
      },
      { what: 'the task running again after the restart', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(alive(ctrPid)).toBe(true);

    // A power cut: nothing of the node survives, and a start brings its daemon back as leader.
    expect((await lab(['kill', `${L}d`, 'manager1', '--all'])).code).toBe(0);
    await until(() => !alive(ctrPid), {
      what: 'the container gone with its node',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const left = await run('ip', ['netns', 'pids', `tsswarm-lab-${L}d-manager1`]);
    expect(left.stdout.trim()).toBe('');
    expect((await lab(['start', `${L}d`, 'manager1'], 40_000)).code).toBe(0);
    await until(
      async () => {
        const r = await onManager(['node', 'ls']);
        return r.code === 0 && /Leader/.test(r.stdout);
      },
      { what: 'manager1 leader again', timeoutMs: 20_000, intervalMs: 100 },
    );

    // Whatever containers the restarted daemon runs now, rm takes them with it. Right after the
    // start the store may still say Running for the task the power cut killed, so wait for a
    // live container, not for the task state.
    let pids: number[] = [];
    await until(
      async () => {
        const again = await run('runc', ['--root', runcRoot, 'list', '-f', 'json']);
        pids = ((JSON.parse(again.stdout || '[]') as { pid: number }[] | null) ?? []).map(
          (c) => c.pid,
        );
        return pids.some(alive);
      },
      {
        what: 'a task container running again after the power cut',
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    const ps = await onManager(['service', 'ps', 'web']);
    expect(ps.stdout).toMatch(/web\.1 .*Running\s+Running/);

    const removed = await lab(['rm', `${L}d`]);
    expect(removed.code).toBe(0);
    await until(() => !pids.some(alive), {
      what: 'every container gone',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(mountsUnder(join(dataRoot, `labs/${L}d`))).toEqual([]);
    expect((await netnsList()).filter((n) => n.startsWith(`tsswarm-lab-${L}d-`))).toEqual([]);
    expect(labCgroups(`${L}d`)).toEqual([]);
  });
});
