// Every kernel effect of the container runtime goes through this interface: spawning the
// monitor, calling the OCI runtime, unmounting, probing processes. Tests can replace it.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { ErrorCode, TsswarmError } from '../../api/errors.js';

export type MonitorEvent =
  | { type: 'started'; pid: number }
  | { type: 'error'; message: string }
  | { type: 'exited'; exitCode: number; oomKilled: boolean }
  | { type: 'closed' };

export interface MonitorHandle {
  pid: number;
  /** Resolves with the next event after `after`; 'closed' when the monitor hung up. */
  next(): Promise<MonitorEvent>;
  /** Lets a --rm monitor go on with removal (the starter has read the last logs). */
  ack(): void;
  /** Stops listening: the monitor carries on alone. */
  detach(): void;
}

export interface RuntimeCall {
  code: number;
  stderr: string;
}

export interface PipedProcess {
  /** Null when the process got no stdin. */
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable;
  /** The exit code (128 + n for a signal); 127 when it could not be started. */
  exited: Promise<number>;
  kill(): void;
}

export interface CapturedCall {
  code: number;
  /** stdout and stderr interleaved, at most `maxOutput` bytes. */
  output: string;
  timedOut: boolean;
}

export interface ContainerHost {
  startMonitor(binary: string, args: string[], stderrFile: string): MonitorHandle;
  /** `inherit`: this process's stdio; 'output': its stdout and stderr, no stdin. */
  runRuntime(binary: string, args: string[], inherit?: boolean | 'output'): Promise<RuntimeCall>;
  /** Starts `binary` with its stdio as pipes (stdin only with `stdin`), for a streamed exec. */
  spawnPiped(binary: string, args: string[], stdin: boolean): PipedProcess;
  /**
   * Runs `binary` with its output captured; past `timeoutMs` the process named in `pidFile`
   * (the command inside the container, for `runc exec --pid-file`) and the caller get SIGKILL.
   */
  runCaptured(
    binary: string,
    args: string[],
    opts: { timeoutMs: number; pidFile: string; maxOutput: number },
  ): Promise<CapturedCall>;
  unmount(target: string): Promise<void>;
  /** Mounts a fresh tmpfs at `target` (which exists) with these mount options. */
  mountTmpfs(target: string, options: string): void;
  isMounted(target: string): boolean;
  /** True when `pid` is a live (not zombie) process whose program name begins `marker`. */
  processAlive(pid: number, marker: string): boolean;
}

class SocketMonitor implements MonitorHandle {
  private buf = '';
  private queue: MonitorEvent[] = [];
  private waiters: ((e: MonitorEvent) => void)[] = [];
  constructor(
    readonly pid: number,
    private readonly sock: Socket,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.push(parseEvent(line));
      }
    });
    const closed = (): void => this.push({ type: 'closed' });
    sock.on('close', closed);
    sock.on('error', () => undefined);
  }
  private push(e: MonitorEvent): void {
    const w = this.waiters.shift();
    if (w) w(e);
    else this.queue.push(e);
  }
  next(): Promise<MonitorEvent> {
    const e = this.queue.shift();
    if (e) {
      if (e.type === 'closed') this.queue.unshift(e);
      return Promise.resolve(e);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  ack(): void {
    if (!this.sock.destroyed) this.sock.write('\n');
  }
  detach(): void {
    this.sock.destroy();
  }
}

function parseEvent(line: string): MonitorEvent {
  const [kind, ...rest] = line.split(' ');
  if (kind === 'started') return { type: 'started', pid: Number(rest[0]) };
  if (kind === 'exited') {
    return { type: 'exited', exitCode: Number(rest[0]), oomKilled: rest[1] === '1' };
  }
  return { type: 'error', message: kind === 'error' ? rest.join(' ') : line };
}

export const linuxHost: ContainerHost = {
  startMonitor(binary, args, stderrFile) {
    const errFd = openSync(stderrFile, 'a');
    try {
      const child = spawn(binary, args, {
        // fd 3 is the control socket; the monitor's own stdio must not hold the caller's.
        stdio: ['ignore', 'ignore', errFd, 'pipe'],
        detached: true,
      });
      child.unref();
      const sock = child.stdio[3] as Socket;
      const handle = new SocketMonitor(child.pid ?? 0, sock);
      child.on('error', () => undefined);
      return handle;
    } finally {
      closeSync(errFd);
    }
  },
  runRuntime(binary, args, inherit = false) {
    return new Promise((resolve) => {
      const child = spawn(binary, args, {
        stdio:
          inherit === 'output'
            ? ['ignore', 'inherit', 'inherit']
            : inherit
              ? 'inherit'
              : ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => (stderr += d));
      child.on('error', (err) => resolve({ code: 127, stderr: err.message }));
      child.on('close', (code, signal) =>
        resolve({ code: code ?? 128 + (signal ? 9 : 0), stderr }),
      );
    });
  },
  spawnPiped(binary, args, stdin) {
    const child = spawn(binary, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, signal) =>
        resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 9) : 0)),
      );
    });
    // A reader that went away must not crash the daemon with EPIPE.
    child.stdin?.on('error', () => undefined);
    return {
      stdin: child.stdin,
      stdout: child.stdout as Readable,
      stderr: child.stderr as Readable,
      exited,
      kill: () => void child.kill('SIGKILL'),
    };
  },
  runCaptured(binary, args, { timeoutMs, pidFile, maxOutput }) {
    return new Promise((resolve) => {
      const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let timedOut = false;
      const take = (d: Buffer): void => {
        if (output.length < maxOutput)
          output += d.toString('utf8').slice(0, maxOutput - output.length);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          const pid = Number(readFileSync(pidFile, 'utf8').trim());
          if (pid > 0) process.kill(pid, 'SIGKILL');
        } catch {
          // not started yet, or already gone
        }
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve({ code: 127, output: err.message, timedOut });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128 + (signal ? 9 : 0), output, timedOut });
      });
    });
  },
  mountTmpfs(target, options) {
    const r = spawnSync('/bin/mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new TsswarmError(
        ErrorCode.Internal,
        `mount tmpfs at ${target}: ${(r.stderr || r.error?.message) ?? ''}`.trim(),
      );
    }
  },
  async unmount(target) {
    await linuxHost.runRuntime('/bin/umount', ['-l', target]);
  },
  isMounted(target) {
    const info = readFileSync('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((l) => l.split(' ')[4] === target);
  },
  processAlive(pid, marker) {
    if (pid <= 0) return false;
    try {
      // stat, not cmdline: cmdline is read from the process's memory and can come back empty
      // while the kernel holds its memory map (seen while the monitor forks).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(open + 1, close);
      const state = stat.slice(close + 2, close + 3);
      return marker.startsWith(comm) && state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  },
};
