// Containers on the real kernel: isolation, overlay root, cgroup limits, stop, logs, bad input.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore } from '../../../src/runtime/image/index.js';
import { imageInUse, type CreateOptions } from '../../../src/runtime/container/index.js';
import { busyboxRootfsTar, dockerSaveTar, tarOf, writeTemp } from '../../helpers/images.js';
import { until } from '../../helpers/until.js';
import {
  cgroupDirsOf,
  cli,
  containerCgroups,
  monitorsUnder,
  mountsUnder,
  removeAll,
  setUp,
  skipReason,
  tearDown,
  type Env,
} from './harness.js';

const reason = skipReason();

/** Pids of tsswarm CLI processes (not monitors) working on `dataRoot`. */
function tsswarmProcessesFor(dataRoot: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return (
          /tsswarm(\.mjs)?\0/.test(cmd) && cmd.includes(dataRoot) && !cmd.includes('tsswarm-shim')
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}
let env: Env;

async function runToEnd(
  o: CreateOptions,
): Promise<{ id: string; code: number; out: string; detail: string }> {
  const id = await env.rt.create(o);
  await env.rt.start(id);
  const r = await env.rt.wait(id);
  let out = '';
  for await (const e of env.rt.logs(id)) out += e.line;
  const detail = JSON.stringify({ wait: r, state: (await env.rt.inspect(id)).state, out });
  return { id, code: r.exitCode, out, detail };
}

describe.skipIf(reason !== undefined)(`containers on the real kernel ${reason ?? ''}`, () => {
  beforeAll(async () => {
    env = await setUp();
  });
  afterEach(async () => {
    await removeAll(env);
  });
  afterAll(async () => {
    await tearDown(env);
  });

  it('isolates: pid 1, own hostname, only lo, host paths invisible, default capabilities', async () => {
    const marker = join(env.work, 'host-only');
    writeFileSync(marker, 'x');
    const r = await runToEnd({
      image: 'busybox',
      hostname: 'boxy',
      cmd: [
        'sh',
        '-c',
        `echo pid=$$; hostname; ls /sys/class/net; test -e ${marker} && echo visible || echo hidden; grep CapEff /proc/self/status; stat -c %F /proc/keys; cat /etc/hostname`,
      ],
    });
    expect(r.code, r.detail).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('pid=1');
    expect(lines[1]).toBe('boxy');
    expect(lines[2]).toBe('lo');
    expect(lines[3]).toBe('hidden');
    // Docker's default set: 0x00000000a80425fb.
    expect(lines[4]).toMatch(/CapEff:\s+00000000a80425fb/);
    expect(lines[5]).toBe('character special file'); // masked by /dev/null
    expect(lines[6]).toBe('boxy');
  });

  it('writes land in the upper dir, never in a shared layer; two containers share lower dirs', async () => {
    const a = await runToEnd({
      image: 'busybox',
      cmd: ['sh', '-c', 'echo a > /etc/new; rm /bin/vi'],
    });
    const b = await env.rt.create({
      image: 'busybox',
      cmd: ['sh', '-c', 'test ! -e /etc/new && test -e /bin/vi'],
    });
    await env.rt.start(b);
    const rb = await env.rt.wait(b);
    expect(a.code, a.detail).toBe(0);
    // b sees neither a's file nor a's deletion
    expect(rb.exitCode, JSON.stringify([rb, (await env.rt.inspect(b)).state])).toBe(0);
    const ia = await env.rt.inspect(a.id);
    const ib = await env.rt.inspect(b);
    expect(ia.record.LayerDirs).toEqual(ib.record.LayerDirs);
    const upper = env.rt.paths(a.id).upper;
    expect(readFileSync(join(upper, 'etc/new'), 'utf8')).toBe('a\n');
    for (const layer of ia.record.LayerDirs) {
      expect(existsSync(join(layer, 'etc/new'))).toBe(false);
      expect(existsSync(join(layer, 'bin/vi'))).toBe(true);
    }
    // The monitor unmounted the root once the container exited.
    expect(mountsUnder(env.work)).toEqual([]);
  });

  it('a file deleted in a layer stays deleted (whiteout)', async () => {
    const base = await busyboxRootfsTar();
    const add = await tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/doomed', content: 'gone' },
      { name: 'etc/kept', content: 'kept' },
    ]);
    const del = await tarOf([{ name: 'etc/.wh.doomed', content: '' }]);
    const file = await writeTemp(
      await dockerSaveTar([{ layers: [base, add, del], tags: ['whiteout:latest'] }]),
      env.work,
    );
    await (await ImageStore.open(env.dataRoot)).import(file);
    const r = await runToEnd({
      image: 'whiteout',
      cmd: ['sh', '-c', 'cat /etc/kept; ls /etc/doomed 2>/dev/null || echo absent'],
    });
    expect(r.out).toBe('keptabsent\n');
  });

  it('memory limit: OOM kill gives exit 137 and OOMKilled', async () => {
    const r = await runToEnd({
      image: 'busybox',
      memory: '16m',
      cmd: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'],
    });
    expect(r.code, r.detail).toBe(137);
    expect((await env.rt.inspect(r.id)).state.OOMKilled).toBe(true);
  });

  it('pids limit stops a fork loop; cpu quota and shares reach the cgroup', async () => {
    const r = await runToEnd({
      image: 'busybox',
      pidsLimit: 8,
      cmd: ['sh', '-c', 'for i in $(seq 1 40); do sleep 30 & done 2>/dev/null; echo $(ps | wc -l)'],
    });
    expect(Number(r.out.trim())).toBeLessThanOrEqual(10);
    const id = await env.rt.create({
      image: 'busybox',
      cpus: '0.5',
      cpuShares: 512,
      cmd: ['sleep', '30'],
    });
    await env.rt.start(id);
    const path = env.rt.cgroupPath(id);
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      expect(readFileSync(join('/sys/fs/cgroup', path, 'cpu.max'), 'utf8').trim()).toBe(
        '50000 100000',
      );
    } else {
      const dir = join('/sys/fs/cgroup/cpu', path);
      expect(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
      expect(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      expect(readFileSync(join(dir, 'cpu.shares'), 'utf8').trim()).toBe('512');
    }
    const [stats] = await env.rt.stats([id]);
    expect(stats?.pids).toBe(1);
  });

  it('stop sends the stop signal, and kills after the timeout', async () => {
    const polite = await env.rt.create({
      image: 'busybox',
      stopSignal: 'USR1',
      cmd: [
        'sh',
        '-c',
        'trap "echo bye; exit 7" USR1; echo ready; while true; do sleep 0.05; done',
      ],
    });
    const stubborn = await env.rt.create({
      image: 'busybox',
      cmd: ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.05; done'],
    });
    await env.rt.start(polite);
    await env.rt.start(stubborn);
    const ready = async (id: string): Promise<boolean> => {
      for await (const e of env.rt.logs(id)) if (e.line === 'ready\n') return true;
      return false;
    };
    await until(async () => (await ready(polite)) && (await ready(stubborn)), {
      what: 'both containers ready',
      timeoutMs: 10_000,
    });
    await env.rt.stop(polite, 10);
    expect((await env.rt.wait(polite)).exitCode).toBe(7);
    const t0 = Date.now();
    await env.rt.stop(stubborn, 1);
    expect((await env.rt.wait(stubborn)).exitCode).toBe(137);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('exec, --init, read-only root, user, binds and tmpfs', async () => {
    const shared = join(env.work, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'in'), 'from host');
    const r = await runToEnd({
      image: 'busybox',
      init: true,
      readOnly: true,
      user: 'nobody',
      binds: [`${shared}:/mnt/shared:ro`],
      tmpfs: ['/scratch'],
      env: ['GREETING=hi'],
      workingDir: '/scratch',
      cmd: [
        'sh',
        '-c',
        'cat /proc/1/cmdline | tr "\\0" " "; echo; id -u; cat /mnt/shared/in; echo; touch /x 2>/dev/null || echo ro; pwd; echo $GREETING',
      ],
    });
    expect(r.out.split('\n')).toEqual([
      expect.stringMatching(/^\/sbin\/tsswarm-init -- sh -c/),
      '65534',
      'from host',
      'ro',
      '/scratch',
      'hi',
      '',
    ]);
    const id = await env.rt.create({ image: 'busybox', cmd: ['sleep', '30'] });
    await env.rt.start(id);
    expect(await env.rt.exec(id, ['sh', '-c', 'exit 5'])).toBe(5);
    expect(await env.rt.exec(id, ['no-such-command'])).toBe(127);
    expect(await env.rt.exec(id, ['/etc/passwd'])).toBe(126);
    const pwd = await cli(env, [
      'exec',
      '-w',
      '/tmp',
      '-e',
      'A=b',
      id.slice(0, 12),
      'sh',
      '-c',
      'echo $PWD $A',
    ]);
    expect(pwd).toMatchObject({ code: 0, stdout: '/tmp b\n' });
    // As docker: stdin reaches the command only with -i; -u runs it as another user.
    const piped = await cli(env, ['exec', '-i', id, 'cat'], 30_000, 'through stdin\n');
    expect(piped).toMatchObject({ code: 0, stdout: 'through stdin\n' });
    const closed = await cli(env, ['exec', id, 'sh', '-c', 'cat; echo eof'], 30_000, 'kept\n');
    expect(closed).toMatchObject({ code: 0, stdout: 'eof\n' });
    const user = await cli(env, ['exec', '-u', 'nobody', id, 'id', '-u']);
    expect(user).toMatchObject({ code: 0, stdout: '65534\n' });
  });

  it('logs and exit codes survive the CLI exiting; run -d keeps running with no tsswarm process', async () => {
    const r = await cli(env, [
      'run',
      '-d',
      '--name',
      'survivor',
      // pid 1 ignores signals it has no handler for; the init forwards TERM to sh.
      '--init',
      'busybox',
      'sh',
      '-c',
      'echo one; echo two >&2; sleep 30',
    ]);
    expect(r.code, r.detail).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // The CLI is gone; the container and its monitor live on, parented outside this test.
    const info = await env.rt.inspect('survivor');
    expect(info.state.Status).toBe('running');
    const ppid = Number(
      /PPid:\s+(\d+)/.exec(readFileSync(`/proc/${info.state.MonitorPid}/status`, 'utf8'))?.[1],
    );
    expect(ppid).not.toBe(process.pid);
    expect(tsswarmProcessesFor(env.dataRoot)).toEqual([]);
    const ps = await cli(env, ['ps', '--format', 'json']);
    const row = JSON.parse(ps.stdout.trim()) as Record<string, string>;
    expect(row['Names']).toBe('survivor');
    expect(row['Status']).toMatch(/^Up /);
    expect(row['State']).toBe('running');
    await cli(env, ['kill', '-s', 'TERM', id.slice(0, 10)]);
    expect((await cli(env, ['wait', 'survivor'])).stdout.trim()).toBe('143');
    const logs = await cli(env, ['logs', 'survivor']);
    expect(logs.stdout).toBe('one\n');
    expect(logs.stderr).toBe('two\n');
    const tail = await cli(env, ['logs', '-t', '--tail', '1', 'survivor']);
    expect(tail.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z two\n$/);
    const inspect = JSON.parse((await cli(env, ['inspect', 'survivor'])).stdout) as {
      State: { Status: string; ExitCode: number; OOMKilled: boolean };
      GraphDriver: { Data: { UpperDir: string } };
    }[];
    expect(inspect[0]?.State).toMatchObject({ Status: 'exited', ExitCode: 143, OOMKilled: false });
    expect(inspect[0]?.GraphDriver.Data.UpperDir).toBe(env.rt.paths(id).upper);
    const psA = await cli(env, ['ps', '-a']);
    expect(psA.stdout.split('\n')[0]).toMatch(
      /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/,
    );
    expect(psA.stdout).toMatch(/Exited \(143\) .* ago/);
  });

  it('run in the foreground streams output and exits with the code: 0, 3, 126, 127', async () => {
    const ok = await cli(env, [
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(ok).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const missing = await cli(env, ['run', '--rm', 'busybox', 'no-such-command']);
    expect(missing.code, missing.detail).toBe(127);
    expect(missing.stderr).toMatch(/executable file not found/);
    const notExec = await cli(env, ['run', '--rm', 'busybox', '/etc/passwd']);
    expect(notExec.code).toBe(126);
    // --rm removed all three.
    expect(await env.rt.list({ all: true })).toEqual([]);
  });

  it('bad input: a clear error, exit 125, nothing half-created', async () => {
    const before = readdirSync(join(env.dataRoot, 'containers'));
    const taken = await cli(env, ['create', '--name', 'taken', 'busybox', 'true']);
    expect(taken.code).toBe(0);
    const names = join(env.dataRoot, 'container-names');
    expect(readdirSync(names), JSON.stringify(await env.rt.list({ all: true }))).toEqual(['taken']);
    const cases: [string[], RegExp][] = [
      [['run', 'no-such-image'], /no such image/i],
      [['run', '-m', '12parsecs', 'busybox'], /--memory/],
      [['run', '-m', '1k', 'busybox'], /minimum memory/],
      [['run', '-v', `${env.work}/absent:/x`, 'busybox'], /bind source path does not exist/],
      [['run', '--name', 'taken', 'busybox'], /already in use/],
      [['run', '--cpus', 'lots', 'busybox'], /--cpus/],
      [['run', '--stop-signal', 'SIGNOPE', 'busybox'], /invalid signal/],
      [['run', '-u', 'ghost', 'busybox'], /unable to find user ghost/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(env, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(125);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    // A corrupt image: its layer directory is gone.
    const store = await ImageStore.open(env.dataRoot);
    const [img] = await store.import(await writeTemp(await busyboxRootfsTar(), env.work), {
      name: 'broken:latest',
      changes: ['CMD ["sh"]'],
    });
    const layer = img?.layerDirs[0];
    if (!layer) throw new Error('import gave no layer');
    const moved = `${layer}.moved`;
    renameSync(layer, moved);
    try {
      const r = await cli(env, ['run', 'broken']);
      expect(r.code, r.detail).toBe(125);
      expect(r.stderr).toMatch(/corrupt/);
    } finally {
      renameSync(moved, layer);
    }
    const after = readdirSync(join(env.dataRoot, 'containers'));
    expect(after.length).toBe(before.length + 1); // only "taken"
    expect(readdirSync(join(env.dataRoot, 'container-names'))).toEqual(['taken']);
    expect(mountsUnder(env.work)).toEqual([]);
    expect(containerCgroups(env.cgroupParent)).toEqual([]);
    expect(monitorsUnder(env.work)).toEqual([]);
    expect(await imageInUse(env.dataRoot, (await store.resolve('busybox')).id)).toEqual(['taken']);
  });

  it('--runtime crun runs where crun can, and says why where it cannot (v1 hybrid)', async () => {
    const r = await cli(env, ['run', '--rm', '--runtime', 'crun', 'busybox', 'echo', 'crun']);
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      expect(r).toMatchObject({ code: 0, stdout: 'crun\n' });
    } else {
      expect(r.code, r.detail).toBe(125);
      expect(r.stderr).toMatch(/OCI runtime crun cannot run on this host: .*hybrid/);
    }
    expect(await env.rt.list({ all: true })).toEqual([]);
    expect(mountsUnder(env.work)).toEqual([]);
  });

  it('names stay unique under concurrent creates', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        cli(env, ['create', '--name', 'only-one', 'busybox', 'true']),
      ),
    );
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    expect(results.filter((r) => r.code === 125 && /already in use/.test(r.stderr))).toHaveLength(
      5,
    );
    expect((await env.rt.list({ all: true })).map((c) => c.record.Name)).toEqual(['/only-one']);
  });

  it('rm of a running container needs -f; rm -f leaves no mount, cgroup or monitor', async () => {
    const id = await env.rt.create({ image: 'busybox', cmd: ['sleep', '30'] });
    await env.rt.start(id);
    expect(mountsUnder(env.work)).toHaveLength(1);
    expect(containerCgroups(env.cgroupParent).length).toBeGreaterThan(0);
    const r = await cli(env, ['rm', id.slice(0, 12)]);
    expect(r.code, r.detail).toBe(125);
    expect(r.stderr).toMatch(/running/);
    expect((await cli(env, ['rm', '-f', id.slice(0, 12)])).code).toBe(0);
    await until(() => monitorsUnder(env.work).length === 0, {
      what: 'every monitor gone',
      timeoutMs: 10_000,
    });
    expect(mountsUnder(env.work)).toEqual([]);
    expect(containerCgroups(env.cgroupParent)).toEqual([]);
    expect(existsSync(join(env.dataRoot, 'containers', id))).toBe(false);
    expect(cgroupDirsOf(env.cgroupParent).length).toBeGreaterThan(0);
    rmSync(join(env.work, 'nothing'), { force: true });
  });

  it('a wait ends when another caller removes the container meanwhile', async () => {
    // Never started: nothing but the removal can end this wait.
    const id = await env.rt.create({ image: 'busybox', cmd: ['sleep', '30'] });
    const waiting = env.rt.wait(id).then(
      (r) => `exited ${r.exitCode}`,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    expect((await cli(env, ['rm', '-f', id.slice(0, 12)])).code).toBe(0);
    const outcome = await Promise.race([
      waiting,
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 15_000)),
    ]);
    expect(outcome).toMatch(/^No such container/);
  });
});
