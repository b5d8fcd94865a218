import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/api/errors.js';
import { encodeFrame, Stream } from '../../../src/api/exec-frames.js';
import { ApiClient } from '../../../src/cli/client.js';
import { pumpExecClient } from '../../../src/cli/remote-exec.js';
import { ExecSessions, serveExecUpgrades } from '../../../src/daemon/exec-sessions.js';
import type { ExecProcess } from '../../../src/runtime/index.js';
import { alive } from '../../helpers/process.js';
import { until } from '../../helpers/until.js';

// The exec protocol end to end over a real unix socket, with host processes in place of
// containers: framing, EOF, exit codes, back-pressure and kill on disconnect need no root.

/** `sh -c script` on the host as an ExecProcess. */
function hostProcess(script: string, stdin: boolean, started: number[]): ExecProcess {
  const child = spawn('sh', ['-c', script], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  started.push(child.pid ?? 0);
  child.stdin?.on('error', () => undefined);
  return {
    stdin: child.stdin,
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    exited: new Promise((resolve) =>
      child.on('close', (code, sig) => resolve(code ?? (sig ? 137 : 0))),
    ),
    kill: () => void child.kill('SIGKILL'),
  };
}

/** A Writable that keeps what it is given, reading slowly when `slowMs` is set. */
function sink(slowMs = 0): Writable & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      if (slowMs > 0) setTimeout(cb, slowMs);
      else cb();
    },
  });
  return Object.assign(w, { bytes: () => Buffer.concat(chunks) });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('exec over an HTTP upgrade (host processes, unix socket)', () => {
  let dir = '';
  let server: Server;
  let api: ApiClient;
  const sessions = new ExecSessions(200);
  const started: number[] = [];
  let authorizeAnswer: { code: ErrorCode; message: string } | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsswarm-exec-upgrade-'));
    server = createServer((_req, res) => res.writeHead(404).end());
    serveExecUpgrades(server, sessions, () => Promise.resolve(authorizeAnswer));
    const socketPath = join(dir, 'api.sock');
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    api = new ApiClient({ socketPath });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** Resolves once the process is gone. */
  const gone = (pid: number) =>
    until(() => !alive(pid), { what: `pid ${pid} gone`, timeoutMs: 1000, intervalMs: 50 });

  const exec = async (
    script: string,
    input: Readable | undefined,
    out = sink(),
    err = sink(),
  ): Promise<{ code: number; out: Buffer; err: string }> => {
    const id = sessions.add(() => hostProcess(script, input !== undefined, started));
    const { socket, head } = await api.upgrade(`/exec/${id}/start`);
    const code = await pumpExecClient(socket, head, {
      ...(input ? { stdin: input } : {}),
      stdout: out,
      stderr: err,
    });
    return { code, out: out.bytes(), err: err.bytes().toString() };
  };

  it('streams stdin to the command and its stdout and stderr back apart, then its exit code', async () => {
    const r = await exec('cat; echo err >&2; exit 3', Readable.from([Buffer.from('a\0b\n')]));
    expect(r).toEqual({ code: 3, out: Buffer.from('a\0b\n'), err: 'err\n' });
  });

  it('gives a command without stdin end-of-file at once', async () => {
    const r = await exec('cat; echo done', undefined);
    expect(r.out.toString()).toBe('done\n');
    expect(r.code).toBe(0);
  });

  it('carries 12 MB of binary through a slow reader intact (back-pressure, split frames)', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    // Odd chunk sizes, so frames and chunks never line up.
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length; at += 777_777) chunks.push(data.subarray(at, at + 777_777));
    const r = await exec('cat', Readable.from(chunks), sink(1));
    expect(r.out.length).toBe(data.length);
    expect(sha(r.out)).toBe(sha(data));
  }, 60_000);

  it('kills the command when the client goes away', async () => {
    const id = sessions.add(() => hostProcess('echo up; exec sleep 600', false, started));
    const { socket, head } = await api.upgrade(`/exec/${id}/start`);
    const out = new PassThrough();
    const done = pumpExecClient(socket, head, { stdout: out, stderr: sink() }).catch(
      (e: Error) => e,
    );
    await new Promise((resolve) => out.once('data', resolve));
    const pid = started.at(-1) ?? 0;
    socket.destroy();
    expect(((await done) as Error).message).toMatch(/closed before the command ended/);
    await gone(pid);
  });

  it('ends when the command exits without reading all its input (no hang, no leak)', async () => {
    // `cat big | exec -i c head -c 10`: the rest of the input is dropped, the exit comes back.
    const big = () => Readable.from([randomBytes(8 * 1024 * 1024)]);
    const head = await exec('head -c 10 >/dev/null; exit 4', big());
    expect(head.code).toBe(4);
    const early = await exec('exit 5', big());
    expect(early.code).toBe(5);
  }, 30_000);

  it('kills the command of a client gone while its output or its input was backed up', async () => {
    // Output backed up: the client reads nothing, then goes.
    let id = sessions.add(() => hostProcess('cat /dev/zero', false, started));
    let up = await api.upgrade(`/exec/${id}/start`);
    up.socket.pause();
    await new Promise((r) => setTimeout(r, 200));
    up.socket.destroy();
    await gone(started.at(-1) ?? 0);
    // Input backed up: a command that never reads, more input than the daemon holds.
    id = sessions.add(() => hostProcess('exec sleep 600', true, started));
    up = await api.upgrade(`/exec/${id}/start`);
    up.socket.on('error', () => undefined);
    up.socket.write(encodeFrame(Stream.stdin, randomBytes(1024 * 1024)));
    up.socket.write(encodeFrame(Stream.stdin, randomBytes(1024 * 1024)));
    await new Promise((r) => setTimeout(r, 200));
    up.socket.destroy();
    await gone(started.at(-1) ?? 0);
  }, 30_000);

  it('refuses an unknown, expired or reused id, and an unauthorised caller', async () => {
    await expect(api.upgrade('/exec/nope/start')).rejects.toThrow(/No such exec instance: nope/);
    const expired = sessions.add(() => hostProcess('true', false, started));
    await until(() => sessions.size === 0, {
      what: 'the unstarted session expired',
      timeoutMs: 2000,
      intervalMs: 50,
    });
    await expect(api.upgrade(`/exec/${expired}/start`)).rejects.toThrow(/No such exec instance/);
    await expect(api.upgrade('/somewhere/else')).rejects.toThrow(/no upgrade at POST/);
    authorizeAnswer = { code: ErrorCode.PermissionDenied, message: 'managers only' };
    try {
      const id = sessions.add(() => hostProcess('true', false, started));
      await expect(api.upgrade(`/exec/${id}/start`)).rejects.toMatchObject({
        code: ErrorCode.PermissionDenied,
        message: 'managers only',
      });
    } finally {
      authorizeAnswer = undefined;
    }
  });

  it('drops a connection that sends a malformed frame, and kills its command', async () => {
    const id = sessions.add(() => hostProcess('exec sleep 600', true, started));
    const { socket } = await api.upgrade(`/exec/${id}/start`);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => undefined);
    socket.write(encodeFrame(Stream.stdout, Buffer.from('not for the daemon')));
    await closed;
    const pid = started.at(-1) ?? 0;
    await gone(pid);
  });
});
