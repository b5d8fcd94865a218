import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { hasRole, peerIdentity, type NodeCredentials } from '../ca/tls-options.js';
import { Manager, type JoinAnswer } from '../manager/manager.js';
import type { ApiContext } from './api-context.js';
import { startTcpApiServer } from './api-server.js';
import type { DaemonConfig } from './daemon-config.js';
import { nodeDescription } from './node-description.js';
import type { NodeState } from './node-state.js';

// The x509 issuing library too: a new swarm's CA, a demoted manager's worker certificate.
export { issueCertificate } from '../ca/index.js';
export { initManagerCredentials } from '../manager/manager.js';

export type ManagerStartMode = 'init' | 'join' | 'restart' | 'force-new-cluster';

/**
 * The manager role of a node, unstarted: raft, nats-server, the control API and, while it
 * leads, the leader-only loops. This module is the daemon's one lazily loaded part (daemon.ts
 * `loadManagerRole`): it alone pulls in raft, the manager folder and the x509 library, which
 * a worker-only daemon does without (its idle RSS is measured by bench/service.bench.ts).
 */
export function createManager(opts: {
  config: DaemonConfig;
  state: NodeState;
  mode: ManagerStartMode;
  joined: JoinAnswer | undefined;
  log: Logger;
}): Manager {
  const { config, state, mode, joined } = opts;
  const natsHost = '0.0.0.0';
  return new Manager(
    {
      dataRoot: config.dataRoot,
      nodeId: state.nodeId,
      clusterId: state.clusterId,
      advertiseAddr: state.advertiseAddr,
      apiPort: config.apiPort,
      raft: { host: state.raftHost, port: state.raftPort },
      natsClient: { host: natsHost, port: state.natsPort },
      natsCluster: { host: natsHost, port: state.natsClusterPort },
      natsMonitor: { host: '127.0.0.1', port: state.natsMonitorPort },
      description: nodeDescription(),
      electionTimeoutMs: config.electionTimeoutMs,
      leaderWaitMs: 15_000,
      mode,
      ...(joined?.NatsRoutes ? { natsRoutes: joined.NatsRoutes } : {}),
      ...(joined?.RaftPeers ? { raftPeers: joined.RaftPeers } : {}),
    },
    opts.log,
  );
}

/** The TLS API on `--api-port`, checking callers' certificates with the x509 library. */
export function startTcpApi(
  ctx: ApiContext,
  creds: NodeCredentials,
  listen: { host: string; port: number },
): Promise<FastifyInstance> {
  return startTcpApiServer(ctx, { creds, peers: { peerIdentity, hasRole } }, listen);
}
