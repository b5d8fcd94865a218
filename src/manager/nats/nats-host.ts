import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { writeFileAtomic } from '../../ca/index.js';
import type { HostPort } from './nats-config.js';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NatsChild {
  pid: number;
  exited: Promise<ChildExit>;
}

/**
 * Everything the supervisor does to the machine, so its restart and reload logic runs in unit
 * tests against a fake, and against the real nats-server in test/integration/nats.
 */
export interface NatsHost {
  spawn(binary: string, args: readonly string[], logFile: string): Promise<NatsChild>;
  /** Signals a process we started, by PID. */
  signal(pid: number, signal: NodeJS.Signals): void;
  /** True once the server answers its monitoring /healthz with 200. */
  healthy(monitor: HostPort): Promise<boolean>;
  /** `config_load_time` from /varz: it changes when a reload has been applied. */
  configLoadTime(monitor: HostPort): Promise<string | undefined>;
  writeFile(path: string, content: string, mode: number): Promise<void>;
  /**
   * The PID in `pidFile` when that process is still a nats-server running `configFile`: a
   * leftover of a previous daemon that died without stopping its child.
   */
  leftoverPid(pidFile: string, configFile: string): Promise<number | undefined>;
  /**
   * True once the process has released what it held (its ports): it is gone, or a zombie. Its
   * command line reads empty a moment before its sockets close, so that is not enough.
   */
  processGone(pid: number): Promise<boolean>;
}

const probeTimeoutMs = 1000;

export function monitorUrl({ host, port }: HostPort, path: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

export const realNatsHost: NatsHost = {
  async spawn(binary, args, logFile) {
    const log = await open(logFile, 'a', 0o640);
    try {
      const child = spawn(binary, args, { stdio: ['ignore', log.fd, log.fd] });
      const exited = new Promise<ChildExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      if (child.pid === undefined) throw new Error(`${binary} started without a PID`);
      return { pid: child.pid, exited };
    } finally {
      // The child holds its own copy of the descriptor.
      await log.close();
    }
  },
  signal(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  },
  async healthy(monitor) {
    try {
      const res = await fetch(monitorUrl(monitor, '/healthz'), {
        signal: AbortSignal.timeout(probeTimeoutMs),
      });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  },
  async configLoadTime(monitor) {
    try {
      const res = await fetch(monitorUrl(monitor, '/varz'), {
        signal: AbortSignal.timeout(probeTimeoutMs),
      });
      if (!res.ok) return undefined;
      const varz = (await res.json()) as { config_load_time?: string };
      return varz.config_load_time;
    } catch {
      return undefined;
    }
  },
  writeFile: writeFileAtomic,
  async processGone(pid) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state === 'Z' || state === 'X';
    } catch {
      return true;
    }
  },
  async leftoverPid(pidFile, configFile) {
    let pid: number;
    try {
      pid = Number((await readFile(pidFile, 'utf8')).trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    try {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      return argv.some((a) => a.endsWith('nats-server')) && argv.includes(configFile)
        ? pid
        : undefined;
    } catch {
      return undefined;
    }
  },
};

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
export async function findNatsServer(
  pathEnv = process.env['PATH'] ?? '',
): Promise<string | undefined> {
  const candidates = [
    '/usr/sbin/nats-server',
    ...pathEnv
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'nats-server')),
  ];
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next one
    }
  }
  return undefined;
}
