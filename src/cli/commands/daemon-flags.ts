import type { Command } from 'commander';

export interface DaemonFlags {
  apiPort?: string;
  raftPort?: string;
  natsPort?: string;
  natsClusterPort?: string;
  natsMonitorPort?: string;
  advertiseAddr?: string;
  exitOnLeave?: boolean;
}

/** Flags that configure a daemon; `swarm init` accepts them too for the daemon it starts. */
export function addDaemonFlags(c: Command): Command {
  return c
    .option('--api-port <port>', 'TCP port of the TLS API on managers (default 2377)')
    .option('--raft-port <port>', 'TCP port of raft between managers (default 4242)')
    .option('--nats-port <port>', 'client port of the nats-server (default 4222)')
    .option('--nats-cluster-port <port>', 'route port of the nats-server (default 6222)')
    .option('--nats-monitor-port <port>', 'loopback monitor port of the nats-server (default 8222)')
    .option('--advertise-addr <ip>', 'address other nodes reach this one at');
}

export function daemonArgs(f: DaemonFlags): string[] {
  const out: string[] = [];
  const pairs: [keyof DaemonFlags, string][] = [
    ['apiPort', '--api-port'],
    ['raftPort', '--raft-port'],
    ['natsPort', '--nats-port'],
    ['natsClusterPort', '--nats-cluster-port'],
    ['natsMonitorPort', '--nats-monitor-port'],
    ['advertiseAddr', '--advertise-addr'],
  ];
  for (const [k, flag] of pairs) {
    const v = f[k];
    if (typeof v === 'string') out.push(flag, v);
  }
  return out;
}
