import { invalidArgument } from '../../api/errors.js';

export interface RaftConfig {
  /** This server's id; unique in the cluster and stable across restarts. */
  id: string;
  /** Interval at which a leader sends (possibly empty) AppendEntries to each follower. */
  heartbeatIntervalMs: number;
  /** A follower waits a random time in [electionTimeoutMs, 1.5·electionTimeoutMs) before it campaigns. */
  electionTimeoutMs: number;
  /** Before an election a candidate asks whether it could win, so a partitioned node cannot disrupt. */
  preVote: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down. */
  checkQuorum: boolean;
  /** Most entries in one AppendEntries message. */
  maxAppendEntries: number;
  /** Most bytes of entry data in one AppendEntries message (at least one entry is always sent). */
  maxAppendBytes: number;
  /** Most AppendEntries in flight to one follower before the leader waits for acknowledgements. */
  maxInflightAppends: number;
  /** Take a snapshot once this many entries were applied since the last one; 0 disables. */
  snapshotThreshold: number;
  /** Entries kept in the log behind a snapshot so slightly lagging followers avoid InstallSnapshot. */
  trailingLogs: number;
  /** How long a leadership transfer may take before the leader resumes normal service. */
  leadershipTransferTimeoutMs: number;
}

export function defaultRaftConfig(id: string): RaftConfig {
  return {
    id,
    heartbeatIntervalMs: 100,
    electionTimeoutMs: 1000,
    preVote: true,
    checkQuorum: true,
    maxAppendEntries: 512,
    maxAppendBytes: 1 << 20,
    maxInflightAppends: 64,
    snapshotThreshold: 8192,
    trailingLogs: 10_240,
    leadershipTransferTimeoutMs: 1000,
  };
}

const positiveIntegers = [
  'heartbeatIntervalMs',
  'electionTimeoutMs',
  'maxAppendEntries',
  'maxAppendBytes',
  'maxInflightAppends',
  'leadershipTransferTimeoutMs',
] as const;

/** Throws an InvalidArgument error naming the first bad field; returns the config otherwise. */
export function validateRaftConfig(config: RaftConfig): RaftConfig {
  if (typeof config.id !== 'string' || config.id.length === 0 || config.id.length > 128) {
    throw invalidArgument('raft config: id must be a non-empty string of at most 128 characters');
  }
  for (const key of positiveIntegers) {
    const v = config[key];
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw invalidArgument(`raft config: ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  for (const key of ['snapshotThreshold', 'trailingLogs'] as const) {
    const v = config[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw invalidArgument(`raft config: ${key} must be a non-negative integer, got ${String(v)}`);
    }
  }
  // Followers must hear several heartbeats per election timeout, or one lost message starts
  // an election.
  if (config.heartbeatIntervalMs * 3 > config.electionTimeoutMs) {
    throw invalidArgument(
      `raft config: electionTimeoutMs (${config.electionTimeoutMs}) must be at least 3 × heartbeatIntervalMs (${config.heartbeatIntervalMs})`,
    );
  }
  if (config.leadershipTransferTimeoutMs < config.electionTimeoutMs) {
    throw invalidArgument(
      `raft config: leadershipTransferTimeoutMs (${config.leadershipTransferTimeoutMs}) must be at least electionTimeoutMs (${config.electionTimeoutMs})`,
    );
  }
  return config;
}
