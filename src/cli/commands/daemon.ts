import type { Command } from 'commander';
import { defaultDaemonConfig, validateDaemonConfig } from '../../daemon/daemon-config.js';
import { globalOptions } from '../context.js';
import { addDaemonFlags, type DaemonFlags } from './daemon-flags.js';

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
      // Manager, worker, raft, fastify: measured on the bundle (median of 20 runs), imported
      // statically they cost `daemon --help` and `tsswarm --help` ~35 ms (98 → 132 ms).
      const { runDaemon } = await import('../../daemon/run-daemon.js');
      await runDaemon(config);
    });
}
