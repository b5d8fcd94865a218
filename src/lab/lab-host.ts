import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { TsswarmError, ErrorCode } from '../api/errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A process the lab started, identified so that a recycled pid is never taken for it. */
export interface ProcessRef {
  pid: number;
  /** /proc/PID/stat field 22 (clock ticks since boot). */
  startTime: string;
}

/**
 * The lab's only door to the kernel: programs (ip, nft, umount, nsenter), detached processes
 * and signals. Cgroup and mount bookkeeping read files under roots given to them, so the
 * logic around them runs against plain directories in tests.
 */
export interface LabHost {
  run(cmd: string, args: readonly string[], input?: string): Promise<CommandResult>;
  /** Starts argv in its own session, stdio to `logFile`, not waited for. */
  spawnDetached(argv: readonly string[], env: Record<string, string>, logFile: string): number;
  /** Start time of a live, non-zombie process; undefined when there is none. */
  startTimeOf(pid: number): string | undefined;
  signal(pid: number, signal: NodeJS.Signals): void;
}

export async function runChecked(
  host: LabHost,
  cmd: string,
  args: readonly string[],
  input?: string,
): Promise<string> {
  const r = await host.run(cmd, args, input);
  if (r.code !== 0) {
    throw new TsswarmError(
      ErrorCode.Internal,
      `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

export class ExecLabHost implements LabHost {
  run(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, {
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (input !== undefined && child.stdin) {
        child.stdin.on('error', () => undefined);
        child.stdin.end(input);
      }
    });
  }

  spawnDetached(argv: readonly string[], env: Record<string, string>, logFile: string): number {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error('spawnDetached: empty argv');
    const fd = openSync(logFile, 'a', 0o640);
    try {
      const child = spawn(cmd, args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...env },
        cwd: '/',
      });
      if (child.pid === undefined)
        throw new TsswarmError(ErrorCode.Internal, `could not start ${cmd}`);
      // The node outlives this command: nothing here may keep the event loop waiting for it.
      child.unref();
      child.on('error', () => undefined);
      return child.pid;
    } finally {
      closeSync(fd);
    }
  }

  startTimeOf(pid: number): string | undefined {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may hold spaces and parentheses: count from the last ")".
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
      return fields[19];
    } catch {
      return undefined;
    }
  }

  signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

export function isRunning(host: LabHost, ref: ProcessRef | null): boolean {
  return ref !== null && host.startTimeOf(ref.pid) === ref.startTime;
}

/** SIGKILLs `ref` if it is still the process we started, and waits until it is gone. */
export async function killProcess(host: LabHost, ref: ProcessRef, timeoutMs = 5000): Promise<void> {
  if (!isRunning(host, ref)) return;
  host.signal(ref.pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (isRunning(host, ref)) {
    if (Date.now() > deadline) {
      throw new TsswarmError(
        ErrorCode.Internal,
        `pid ${ref.pid} survived SIGKILL for ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
