import { isIP } from 'node:net';
import type { NodeDescription } from '../api/index.js';
import type { HostPort } from './nats/index.js';

export interface ManagerConfig {
  dataRoot: string;
  nodeId: string;
  clusterId: string;
  /** Address other nodes use to reach this one (raft, NATS). */
  advertiseAddr: string;
  apiPort: number;
  raft: HostPort;
  natsClient: HostPort;
  natsCluster: HostPort;
  natsMonitor: HostPort;
  description: NodeDescription;
  /** Raft election timeout; lower only in tests. */
  electionTimeoutMs: number;
  leaderWaitMs: number;
  /**
   * init: bootstrap a one-voter raft and wait to lead; join: start empty, wait for the leader to
   * add this node; restart: recover from disk, and serve even while no leader is known;
   * force-new-cluster: recover from disk as the only raft voter (the others lost), then demote
   * the other managers in the store.
   */
  mode: 'init' | 'join' | 'restart' | 'force-new-cluster';
  /** Route URLs to start nats-server with, before the store names the managers (join). */
  natsRoutes?: string[];
  /** Raft addresses of the servers, before the log names them (join). */
  raftPeers?: Record<string, string>;
}

export const hostPort = (host: string, port: number): string =>
  isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;

/** The URL of this manager's own nats-server, as its own clients dial it. */
export function localNatsUrl(config: ManagerConfig): string {
  const host = config.natsClient.host === '0.0.0.0' ? '127.0.0.1' : config.natsClient.host;
  return `tls://${host}:${config.natsClient.port}`;
}
