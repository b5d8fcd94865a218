import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { invalidArgument } from '../api/index.js';

/**
 * Node options for every long-lived daemon process (`swarm init` starts one, the lab starts
 * one per node). A mostly idle process: a 1 MB young generation keeps ~20 MB of RSS off an idle
 * node (measured: 104 → 84 MB for a manager that also runs its worker).
 */
export const daemonNodeOptions: readonly string[] = ['--max-semi-space-size=1'];

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  /** TCP port of the TLS API on managers (not served yet: the unix socket is). */
  apiPort: number;
  raftPort: number;
  natsPort: number;
  natsClusterPort: number;
  natsMonitorPort: number;
  /** Address other nodes reach this one at; empty: the first non-loopback IPv4 address. */
  advertiseAddr: string;
  /** Swarm leave ends the daemon too (set when `swarm init` started it). */
  exitOnLeave: boolean;
  /** Raft election timeout in ms (a one-node swarm elects itself after one timeout). */
  electionTimeoutMs: number;
}

export function defaultDaemonConfig(): DaemonConfig {
  return {
    dataRoot: '/var/lib/tsswarm',
    execRoot: '/run/tsswarm',
    apiPort: 2377,
    raftPort: 4242,
    natsPort: 4222,
    natsClusterPort: 6222,
    natsMonitorPort: 8222,
    advertiseAddr: '',
    exitOnLeave: false,
    electionTimeoutMs: 300,
  };
}

export function validateDaemonConfig(c: DaemonConfig): DaemonConfig {
  for (const field of ['dataRoot', 'execRoot'] as const) {
    if (!c[field].startsWith('/')) {
      throw invalidArgument(
        `--${kebab(field)} ${JSON.stringify(c[field])}: must be an absolute path`,
      );
    }
  }
  const ports = ['apiPort', 'raftPort', 'natsPort', 'natsClusterPort', 'natsMonitorPort'] as const;
  for (const field of ports) {
    const p = c[field];
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw invalidArgument(`--${kebab(field)} ${String(p)}: must be a port number (1-65535)`);
    }
  }
  if (new Set(ports.map((f) => c[f])).size !== ports.length) {
    throw invalidArgument(
      `ports must differ: ${ports.map((f) => `--${kebab(f)} ${c[f]}`).join(', ')}`,
    );
  }
  if (c.advertiseAddr !== '' && isIP(c.advertiseAddr) === 0) {
    throw invalidArgument(
      `--advertise-addr ${JSON.stringify(c.advertiseAddr)}: must be an IP address`,
    );
  }
  if (!(c.electionTimeoutMs >= 300)) {
    throw invalidArgument(`election timeout ${c.electionTimeoutMs} ms: at least 300`);
  }
  return c;
}

/** Docker picks the address of the default route's interface; the first IPv4 is close enough. */
export function defaultAdvertiseAddr(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}
