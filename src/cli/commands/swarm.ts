import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  ErrorCode,
  invalidArgument,
  parseDurationNs,
  TsswarmError,
  type Cluster,
} from '../../api/index.js';

import { daemonNodeOptions } from '../../daemon/daemon-config.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions, type GlobalOptions } from '../context.js';
import { addDaemonFlags, daemonArgs, type DaemonFlags } from './daemon-flags.js';

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

/** Starts `tsswarm daemon` detached, logging to <data-root>/daemon.log, and waits for its socket. */
async function ensureDaemon(g: GlobalOptions, flags: DaemonFlags, api: ApiClient): Promise<void> {
  if (await api.ping()) return;
  if (g.host !== undefined) {
    // Only the local default daemon is ours to start.
    throw new TsswarmError(ErrorCode.Unavailable, `no daemon answers at ${g.host}`);
  }
  mkdirSync(g.dataRoot, { recursive: true });
  const log = openSync(join(g.dataRoot, 'daemon.log'), 'a');
  const script = process.argv[1] ?? '';
  const child = spawn(
    process.execPath,
    [
      ...daemonNodeOptions,
      script,
      '--data-root',
      g.dataRoot,
      '--exec-root',
      g.execRoot,
      'daemon',
      '--exit-on-leave',
      ...daemonArgs(flags),
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await api.ping()) return;
    if (exited) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new TsswarmError(
    ErrorCode.Unavailable,
    `the daemon did not come up (see ${join(g.dataRoot, 'daemon.log')})`,
  );
}

type InitFlags = DaemonFlags & { listenAddr?: string; forceNewCluster?: boolean };

export function registerSwarmCommands(program: Command): void {
  const swarm = program.command('swarm').description('Manage the swarm');

  addDaemonFlags(
    swarm
      .command('init')
      .description('Initialize a swarm (starts the daemon first when none runs)')
      .option('--listen-addr <addr[:port]>', 'listen address for raft (default 0.0.0.0:4242)')
      .option(
        '--force-new-cluster',
        'force create a new cluster from current state (a manager whose swarm lost its quorum)',
      ),
  ).action(async (flags: InitFlags, cmd: Command) => {
    const g = globalOptions(cmd);
    const api = new ApiClient(clientTarget(g));
    await ensureDaemon(g, flags, api);
    const { NodeID } = await api.post<{ NodeID: string }>('/swarm/init', {
      ...(flags.advertiseAddr ? { AdvertiseAddr: flags.advertiseAddr } : {}),
      ...(flags.listenAddr ? { ListenAddr: flags.listenAddr } : {}),
      ...(flags.forceNewCluster ? { ForceNewCluster: true } : {}),
    });
    const cluster = await api.get<Cluster>('/swarm');
    const info = await api.get<{ Swarm: { NodeAddr: string } }>('/info');
    const addr = `${info.Swarm.NodeAddr}:${flags.apiPort ?? '2377'}`;
    process.stdout.write(
      `Swarm initialized: current node (${NodeID}) is now a manager.\n\n` +
        `To add a worker to this swarm, run the following command:\n\n` +
        `    tsswarm swarm join --token ${cluster.JoinTokens.Worker} ${addr}\n\n` +
        `To add a manager to this swarm, run 'tsswarm swarm join-token manager' and follow the instructions.\n\n`,
    );
  });

  addDaemonFlags(
    swarm
      .command('join')
      .description('Join a swarm as a node and/or manager (starts the daemon first when none runs)')
      .argument('<host:port>', 'a manager of the swarm (its TLS API, port 2377 by default)')
      .requiredOption('--token <token>', 'token for entry into the swarm'),
  ).action(async (remote: string, flags: DaemonFlags & { token: string }, cmd: Command) => {
    const g = globalOptions(cmd);
    const api = new ApiClient(clientTarget(g));
    await ensureDaemon(g, flags, api);
    await api.post<{ NodeID: string }>('/swarm/join', {
      RemoteAddrs: [remote],
      JoinToken: flags.token,
      ...(flags.advertiseAddr ? { AdvertiseAddr: flags.advertiseAddr } : {}),
    });
    const info = await api.get<{ Swarm: { ControlAvailable: boolean } }>('/info');
    process.stdout.write(
      `This node joined a swarm as a ${info.Swarm.ControlAvailable ? 'manager' : 'worker'}.\n`,
    );
  });

  swarm
    .command('join-token')
    .description('Manage join tokens')
    .argument('<role>', 'worker or manager')
    .option('-q, --quiet', 'only display the token')
    .option('--rotate', 'rotate the join token')
    .action(async (role: string, opts: { quiet?: boolean; rotate?: boolean }, cmd: Command) => {
      if (role !== 'worker' && role !== 'manager') {
        throw invalidArgument(`unknown role ${role}: use worker or manager`);
      }
      const api = client(cmd);
      if (opts.rotate) {
        const c = await api.get<Cluster>('/swarm');
        const flag = role === 'worker' ? 'rotateWorkerToken' : 'rotateManagerToken';
        await api.post(`/swarm/update?version=${c.Version.Index}&${flag}=true`, c.Spec);
        if (!opts.quiet) {
          process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
        }
      }
      const c = await api.get<Cluster>('/swarm');
      const token = role === 'worker' ? c.JoinTokens.Worker : c.JoinTokens.Manager;
      if (opts.quiet) {
        process.stdout.write(`${token}\n`);
        return;
      }
      const info = await api.get<{ Swarm: { NodeAddr: string } }>('/info');
      process.stdout.write(
        `To add a ${role} to this swarm, run the following command:\n\n` +
          `    tsswarm swarm join --token ${token} ${info.Swarm.NodeAddr}:2377\n\n`,
      );
    });

  swarm
    .command('leave')
    .description('Leave the swarm')
    .option('-f, --force', 'leave even as the last manager (erases the swarm state)')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      await client(cmd).post(`/swarm/leave?force=${opts.force === true}`);
      process.stdout.write('Node left the swarm.\n');
    });

  swarm
    .command('update')
    .description('Update the swarm')
    .option('--task-history-limit <n>', 'task history retention limit')
    .option('--dispatcher-heartbeat <duration>', 'dispatcher heartbeat period (e.g. 5s)')
    .action(
      async (opts: { taskHistoryLimit?: string; dispatcherHeartbeat?: string }, cmd: Command) => {
        const api = client(cmd);
        const c = await api.get<Cluster>('/swarm');
        const spec = structuredClone(c.Spec);
        if (opts.taskHistoryLimit !== undefined) {
          if (!/^-?\d+$/.test(opts.taskHistoryLimit)) {
            throw invalidArgument(
              `invalid argument "${opts.taskHistoryLimit}" for "--task-history-limit" flag: not an integer`,
            );
          }
          spec.Orchestration.TaskHistoryRetentionLimit = Number(opts.taskHistoryLimit);
        }
        if (opts.dispatcherHeartbeat !== undefined) {
          const ns = parseDurationNs(opts.dispatcherHeartbeat);
          if (ns === undefined || ns <= 0) {
            throw invalidArgument(
              `invalid argument "${opts.dispatcherHeartbeat}" for "--dispatcher-heartbeat" flag: not a positive duration`,
            );
          }
          spec.Dispatcher.HeartbeatPeriod = ns;
        }
        await api.post(`/swarm/update?version=${c.Version.Index}`, spec);
        process.stdout.write('Swarm updated.\n');
      },
    );
}
