import type { NodeDescription, NodeRole } from './node.js';

/** The ports a manager listens on, at its advertise address. */
export interface ManagerPorts {
  api: number;
  raft: number;
  nats: number;
  natsCluster: number;
}

/** What a joining node sends to a manager (`POST /cluster/join`). */
export interface JoinRequest {
  token: string;
  /** SPKI PEM of the key the joiner generated; the private key never leaves it. */
  publicKeyPem: string;
  description: NodeDescription;
  addr: string;
  /** A manager joiner's listeners on `addr`. */
  ports?: ManagerPorts;
}

/**
 * What the leader answers a joiner (and a promoted worker): its identity, its certificate, and
 * where to connect. Managers also get the CA key (any manager signs certificates once it
 * leads, as swarmkit's do), the managers' NATS routes and the raft servers' addresses.
 */
export interface JoinAnswer {
  NodeID: string;
  ClusterID: string;
  Role: NodeRole;
  CertPem: string;
  CaPem: string;
  NatsUrls: string[];
  CaKeyPem?: string;
  NatsRoutes?: string[];
  RaftPeers?: Record<string, string>;
  /** Managers only: the cluster key that seals secrets (base64), kept outside raft. */
  SecretKey?: string;
}
