import type { Driver, DurationNs, Labels, Meta } from './meta.js';

export interface ExternalCA {
  Protocol: 'cfssl';
  URL: string;
  Options?: Record<string, string>;
  CACert?: string;
}

export interface ClusterSpec {
  Name: string;
  Labels: Labels;
  Orchestration: {
    /** Old tasks kept per slot (or per node for global services); swarm's default is 5. */
    TaskHistoryRetentionLimit: number;
  };
  Raft: {
    SnapshotInterval: number;
    KeepOldSnapshots: number;
    LogEntriesForSlowFollowers: number;
    ElectionTick: number;
    HeartbeatTick: number;
  };
  Dispatcher: {
    HeartbeatPeriod: DurationNs;
  };
  CAConfig: {
    NodeCertExpiry: DurationNs;
    ExternalCAs?: ExternalCA[];
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  };
  TaskDefaults: {
    LogDriver?: Driver;
  };
  EncryptionConfig: {
    AutoLockManagers: boolean;
  };
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

export interface TLSInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

export interface Cluster extends Meta {
  Spec: ClusterSpec;
  TLSInfo?: TLSInfo;
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[];
  SubnetSize: number;
  DataPathPort: number;
  JoinTokens: JoinTokens;
}

/** The cluster has one well-known name, as in swarmkit. */
export const DEFAULT_CLUSTER_NAME = 'default';

/** Swarm's defaults (docker swarm init). */
export function defaultClusterSpec(): ClusterSpec {
  return {
    Name: DEFAULT_CLUSTER_NAME,
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: {
      SnapshotInterval: 10_000,
      KeepOldSnapshots: 0,
      LogEntriesForSlowFollowers: 500,
      ElectionTick: 10,
      HeartbeatTick: 1,
    },
    Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
    CAConfig: { NodeCertExpiry: 90 * 24 * 3600 * 1_000_000_000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}
