import type { Command } from 'commander';
import { globalOptions } from '../context.js';

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

export function registerDaemonCommands(program: Command): void {
  addDaemonFlags(
    program
      .command('daemon')
      .description(
        'Run the node daemon (API on <exec-root>/tsswarm.sock, manager and worker roles)',
      ),
  )
    .option('--exit-on-leave', 'exit after `swarm leave` (set when `swarm init` started it)')
    .action(async (flags: DaemonFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      const { defaultDaemonConfig, validateDaemonConfig } =
        await import('../../daemon/daemon-config.js');
      const { runDaemon } = await import('../../daemon/run-daemon.js');
      const d = defaultDaemonConfig();
      const port = (v: string | undefined, dflt: number): number =>
        v === undefined ? dflt : /^\d+$/.test(v) ? Number(v) : NaN;
      const config = validateDaemonConfig({
        ...d,
        dataRoot: g.dataRoot,
        execRoot: g.execRoot,
        apiPort: port(flags.apiPort, d.apiPort),
        raftPort: port(flags.raftPort, d.raftPort),
        natsPort: port(flags.natsPort, d.natsPort),
        natsClusterPort: port(flags.natsClusterPort, d.natsClusterPort),
        natsMonitorPort: port(flags.natsMonitorPort, d.natsMonitorPort),
        advertiseAddr: flags.advertiseAddr ?? '',
        exitOnLeave: flags.exitOnLeave === true,
      });
      await runDaemon(config);
    });
}
