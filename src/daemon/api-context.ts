import type { Logger } from 'pino';
import type { hasRole, NodeCredentials, peerIdentity } from '../ca/tls-options.js';
import type { Manager } from '../manager/manager.js';
import type { DaemonConfig } from './daemon-config.js';

export interface SwarmInitRequest {
  advertiseAddr?: string;
  listenAddr?: string;
  forceNewCluster?: boolean;
}

export interface SwarmJoinRequest {
  remoteAddrs: string[];
  token: string;
  advertiseAddr?: string;
}

/**
 * What the API's hooks and route modules need of the node process (the Daemon is one). Routes
 * receive this rather than the Daemon, so the daemon can start its TCP API without an import
 * cycle, and a test can serve the routes over a stand-in.
 */
export interface ApiContext {
  readonly config: DaemonConfig;
  readonly log: Logger;
  readonly socketPath: string;
  info(): Record<string, unknown>;
  init(req: SwarmInitRequest): Promise<string>;
  join(req: SwarmJoinRequest): Promise<string>;
  leave(force: boolean): Promise<void>;
  /** The cluster's CA certificate, for a joiner to pin against its token. */
  rootCaPem(): Promise<string | undefined>;
  nodeId(): string | undefined;
  /** The manager role, or a 503 error when this node does not play it (yet). */
  managerOrThrow(): Manager;
  /** The manager role when this node plays it (no error when it does not). */
  currentManager(): Manager | undefined;
  /** This node's certificate, key and CA, for calls to other managers. */
  nodeCredentials(): Promise<NodeCredentials>;
}

/**
 * Who a TLS caller is, read from its certificate. Handed in by the manager role, which alone
 * serves the TCP API: reading a certificate loads the x509 library, which a worker-only daemon
 * does without (its RSS is measured by bench/service.bench.ts).
 */
export interface TlsPeers {
  peerIdentity: typeof peerIdentity;
  hasRole: typeof hasRole;
}
