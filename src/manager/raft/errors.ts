import { ErrorCode, TsswarmError } from '../../api/errors.js';

/** The request needs the leader and this server is not it. Nothing was appended. */
export class NotLeaderError extends TsswarmError {
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;
  constructor(leaderId: string | null, leaderAddress: string | null) {
    super(
      ErrorCode.NotLeader,
      leaderId === null
        ? 'raft: this server is not the leader and no leader is known'
        : `raft: this server is not the leader; the leader is ${leaderId} at ${leaderAddress ?? 'an unknown address'}`,
    );
    this.name = 'NotLeaderError';
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
  }
}

/**
 * Leadership was lost after the entry was appended: it may or may not commit later. A caller
 * that retries must make the command idempotent.
 */
export class LeadershipLostError extends TsswarmError {
  constructor(
    message = 'raft: leadership lost before the entry committed; its outcome is unknown',
  ) {
    super(ErrorCode.LeadershipLost, message);
    this.name = 'LeadershipLostError';
  }
}

/** The node was stopped (or failed) while the request waited. */
export class RaftStoppedError extends TsswarmError {
  constructor(cause?: unknown) {
    super(ErrorCode.Unavailable, 'raft: the node is stopped', { cause });
    this.name = 'RaftStoppedError';
  }
}

/** Stored raft data failed its checks; the node refuses to run on it. */
export class RaftCorruptionError extends TsswarmError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, what: string) {
    super(ErrorCode.DataCorrupt, `raft: corrupt data in ${file} at offset ${offset}: ${what}`);
    this.name = 'RaftCorruptionError';
    this.file = file;
    this.offset = offset;
  }
}
