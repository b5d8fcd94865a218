import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/cli/client.js';
import { ImageStore, type ContainerRuntime } from '../../../src/runtime/index.js';
import { busyboxRootfsTar } from '../../helpers/images.js';
import { cliPath, OneNodeSwarm, skipE2e, tsswarm } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

const skip = skipE2e('container verbs over -H e2e');

interface BinaryRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The CLI with `input` piped to its stdin, output kept as bytes. */
function cliBinary(args: string[], input?: Buffer): Promise<BinaryRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: 'pipe' });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(skip)('container and image verbs over -H (one-node swarm)', () => {
  let s: OneNodeSwarm;
  let base = '';
  let dataRoot = '';
  let execRoot = '';
  let runtime: ContainerRuntime;

  /** Over the unix socket, from a CLI whose own data root is empty: only the daemon acts. */
  const unixArgs = (): string[] => [
    '--data-root',
    join(base, 'client'),
    '--exec-root',
    join(base, 'client-exec'),
    '-H',
    `unix://${join(execRoot, 'tsswarm.sock')}`,
  ];
  const viaUnix = (...args: string[]) => tsswarm([...unixArgs(), ...args], { timeoutMs: 60_000 });
  /** Over the TLS API, authenticated with the node's own manager certificate. */
  const tcpArgs = (): string[] => [
    '--data-root',
    dataRoot,
    '--exec-root',
    join(base, 'client-exec'),
    '-H',
    `tcp://127.0.0.1:${s.apiPort}`,
  ];
  const viaTcp = (...args: string[]) => tsswarm([...tcpArgs(), ...args], { timeoutMs: 60_000 });
  const containers = async () => (await runtime.list({ all: true })).map((c) => c.record.Id).sort();

  beforeAll(async () => {
    s = await OneNodeSwarm.create('tsswarm-rexec-', undefined, { tlsApi: true });
    ({ base, dataRoot, execRoot, runtime } = s);
    const c1 = await viaUnix('run', '-d', '--name', 'c1', 'busybox', 'sleep', '600');
    expect(c1.stderr).toBe('');
    expect(c1.code).toBe(0);
  }, 90_000);

  afterAll(() => s?.destroy(), 90_000);

  it("-e NAME takes the value from the CLI's environment, never the daemon's", async () => {
    const env = { ...process.env, FROM_CLIENT: 'client-side' };
    const r = await tsswarm(
      [...unixArgs(), 'exec', '-e', 'FROM_CLIENT', '-e', 'PATH_X', 'c1', 'env'],
      {
        env,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('FROM_CLIENT=client-side\n');
    expect(r.stdout).not.toContain('PATH_X');
    // The API itself refuses a bare name: it would read the daemon's environment.
    const bare = await s
      .api()
      .post('/containers/c1/exec', { Cmd: ['env'], Env: ['HOME'] })
      .catch((e: Error) => e);
    expect(String(bare)).toMatch(/Env/);
    // A runtime is a name (runc, crun), never a path to a binary the daemon would run as root.
    const byPath = await s
      .api()
      .post('/containers/create?runtime=/bin/sh', { image: 'busybox' })
      .catch((e: Error) => e);
    expect(String(byPath)).toMatch(/runtime/);
  }, 60_000);

  it('exec -i streams stdin in, stdout and stderr apart, and exits with the command’s code', async () => {
    const r = await cliBinary(
      [...unixArgs(), 'exec', '-i', 'c1', 'sh', '-c', 'cat; echo err >&2; exit 3'],
      Buffer.from('hello\0world\n'),
    );
    expect(r.stdout.toString('latin1')).toBe('hello\0world\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(3);
  }, 60_000);

  it('carries megabytes of binary both ways intact', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 77);
    const r = await cliBinary([...unixArgs(), 'exec', '-i', 'c1', 'cat'], data);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(data.length);
    expect(sha(r.stdout)).toBe(sha(data));
  }, 60_000);

  it('without -i the command reads end-of-file; -e, -w and -u reach it', async () => {
    const r = await cliBinary(
      [
        ...unixArgs(),
        'exec',
        '-e',
        'GREETING=hi there',
        '-w',
        '/tmp',
        '-u',
        'nobody',
        'c1',
        'sh',
        '-c',
        'cat; echo "$GREETING $(pwd) $(id -u)"',
      ],
      Buffer.from('never read\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hi there /tmp 65534\n');
    expect(r.code).toBe(0);
  }, 60_000);

  it('maps a missing command to 127, as docker', async () => {
    const r = await viaUnix('exec', 'c1', 'no-such-command');
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/no-such-command/);
  });

  it('kills the command when the client goes away', async () => {
    const child = spawn(
      process.execPath,
      [cliPath, ...unixArgs(), 'exec', 'c1', 'sh', '-c', 'echo started; exec sleep 4242'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    s.pids.add(child.pid ?? 0);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('started')) resolve();
      });
      child.on('close', () => reject(new Error('exec ended before it started')));
    });
    const ps = async () => (await viaUnix('exec', 'c1', 'ps', '-o', 'args')).stdout;
    expect(await ps()).toContain('sleep 4242');
    child.kill('SIGKILL');
    await until(ps, {
      what: 'the exec’d sleep is gone',
      accept: (out) => !out.includes('sleep 4242'),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
  }, 60_000);

  it('refuses an unknown or stopped container and an empty command, changing nothing', async () => {
    const before = await containers();
    const unknown = await viaUnix('exec', 'nosuch', 'true');
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toBe('Error: No such container: nosuch\n');
    const stopped = await viaUnix('create', '--name', 'stopped', 'busybox', 'true');
    expect(stopped.code).toBe(0);
    const notRunning = await viaUnix('exec', 'stopped', 'true');
    expect(notRunning.code).toBe(125);
    expect(notRunning.stderr).toMatch(/container [0-9a-f]{64} is not running/);
    expect((await viaUnix('rm', 'stopped')).code).toBe(0);
    const api = new ApiClient({ socketPath: join(execRoot, 'tsswarm.sock') });
    await expect(api.post('/containers/c1/exec', { Cmd: [] })).rejects.toThrow(
      'exec needs a command',
    );
    const tty = await viaUnix('exec', '-t', 'c1', 'true');
    expect(tty.code).toBe(125);
    expect(tty.stderr).toMatch(/exec -t .* not served over -H/);
    expect(await containers()).toEqual(before);
  }, 60_000);

  it('starts an exec instance once: a second start is refused', async () => {
    const api = new ApiClient({ socketPath: join(execRoot, 'tsswarm.sock') });
    const { Id } = await api.post<{ Id: string }>('/containers/c1/exec', { Cmd: ['true'] });
    expect(Id).toMatch(/^[0-9a-f]{64}$/);
    const first = await api.upgrade(`/exec/${Id}/start`);
    first.socket.destroy();
    await expect(api.upgrade(`/exec/${Id}/start`)).rejects.toThrow(/No such exec instance/);
    await expect(api.post(`/exec/${Id}/start`)).rejects.toThrow(/Upgrade: tcp/);
  });

  it('run attached prints the output apart, exits with its code and --rm removes it', async () => {
    const before = await containers();
    const r = await viaUnix('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 5');
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(5);
    expect(await containers()).toEqual(before);
    const missing = await viaUnix('run', '--rm', 'busybox', 'no-such-command');
    expect(missing.code).toBe(127);
    expect(await containers()).toEqual(before);
  }, 60_000);

  it('run attached forwards SIGTERM to the container as a kill', async () => {
    const before = await containers();
    const child = spawn(
      process.execPath,
      [
        cliPath,
        ...unixArgs(),
        'run',
        '--rm',
        'busybox',
        'sh',
        '-c',
        'trap "echo got-term; exit 9" TERM; echo ready; while true; do sleep 0.1; done',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    s.pids.add(child.pid ?? 0);
    let out = '';
    const closed = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      }),
    );
    child.kill('SIGTERM');
    expect(await closed).toBe(9);
    expect(out).toBe('ready\ngot-term\n');
    expect(await containers()).toEqual(before);
  }, 60_000);

  it('create, start, wait and stats act on the daemon’s node', async () => {
    const created = await viaUnix('create', '--name', 'seven', 'busybox', 'sh', '-c', 'exit 7');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect((await runtime.inspect(id)).state.Status).toBe('created');
    expect((await viaUnix('start', 'seven')).stdout).toBe('seven\n');
    const wait = await viaUnix('wait', 'seven');
    expect(wait.stdout).toBe('7\n');
    expect((await viaUnix('rm', 'seven')).code).toBe(0);
    const stats = await viaUnix('stats', '--no-stream', '--format', 'json', 'c1');
    expect(stats.code).toBe(0);
    // Earlier execs may still be leaving the cgroup: at least the container's own sleep.
    const row = JSON.parse(stats.stdout.trim()) as { Name: string; PIDs: string };
    expect(row.Name).toBe('c1');
    expect(Number(row.PIDs)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('image save, load and import stream tarballs to and from the daemon’s node', async () => {
    const tarFile = join(base, 'busybox-save.tar');
    const saved = await viaUnix('image', 'save', '-o', tarFile, 'busybox');
    expect(saved.code).toBe(0);
    expect(readFileSync(tarFile).length).toBeGreaterThan(1024 * 1024);
    const loaded = await viaUnix('image', 'load', '-i', tarFile);
    expect(loaded.stdout).toBe('Loaded image: busybox:latest\n');
    const piped = await cliBinary([...unixArgs(), 'image', 'save', 'busybox']);
    expect(piped.code).toBe(0);
    expect(piped.stdout.length).toBe(readFileSync(tarFile).length);
    const rootfs = join(base, 'rootfs.tar');
    writeFileSync(rootfs, await busyboxRootfsTar());
    const imported = await viaUnix('image', 'import', '-c', 'CMD ["sh"]', rootfs, 'mybox:1');
    expect(imported.code).toBe(0);
    const store = await ImageStore.open(dataRoot);
    expect((await store.inspect('mybox:1')).Id).toBe(imported.stdout.trim());
    expect((await viaUnix('image', 'tag', 'mybox:1', 'mybox:2')).code).toBe(0);
    expect((await store.inspect('mybox:2')).Id).toBe(imported.stdout.trim());
    expect((await viaUnix('image', 'history', 'mybox:2')).stdout).toContain('tsswarm image import');
    const noFile = await viaUnix('image', 'load', '-i', join(base, 'nope.tar'));
    expect(noFile.code).toBe(125);
    expect(noFile.stderr).toMatch(/cannot read .*nope\.tar/);
    const notTar = await cliBinary([...unixArgs(), 'image', 'load'], Buffer.from('not a tar'));
    expect(notTar.code).toBe(125);
    expect(notTar.stderr).toMatch(/not a tar archive/);
    // The client's own data root never got an image store.
    expect(existsSync(join(base, 'client', 'images'))).toBe(false);
  }, 90_000);

  it('works the same over the TLS API with a manager certificate', async () => {
    const r = await cliBinary(
      [...tcpArgs(), 'exec', '-i', 'c1', 'sh', '-c', 'cat; echo err >&2; exit 3'],
      Buffer.from('over tls\n'),
    );
    expect(r.stdout.toString()).toBe('over tls\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(3);
    const run = await viaTcp('run', '--rm', 'busybox', 'sh', '-c', 'echo tls-run; exit 2');
    expect(run.stdout).toBe('tls-run\n');
    expect(run.code).toBe(2);
  }, 60_000);

  it('refuses an exec upgrade over TCP from a caller without a manager certificate', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: s.apiPort,
        method: 'POST',
        path: '/exec/0123/start',
        headers: { connection: 'Upgrade', upgrade: 'tcp' },
        rejectUnauthorized: false,
      });
      req.on('upgrade', () => reject(new Error('upgraded without a certificate')));
      req.on('response', (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(403);
    expect(res.body).toContain('needs a manager certificate');
  });
});
