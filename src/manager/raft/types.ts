/** The replicated state machine. Every manager applies the same committed entries in order. */
export interface FSM<R = unknown> {
  /** Deterministic: no clock, randomness or I/O. Same entries in the same order → same state and results. */
  apply(entry: { index: number; term: number; data: Uint8Array }): R;
  /** A consistent image of the whole state, taken synchronously. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
}

export type Suffrage = 'voter' | 'nonvoter';

export interface Server {
  id: string;
  /** Where the transport reaches this server (host:port for TCP; the id for the in-memory one). */
  address: string;
  suffrage: Suffrage;
}

export interface Configuration {
  servers: Server[];
}

/**
 * `command` carries an FSM command; `noop` is what a new leader appends to commit its term;
 * `config` carries a whole membership configuration (JSON) and takes effect when appended.
 */
export type EntryType = 'command' | 'noop' | 'config';

export interface LogEntry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
}

/**
 * Log storage. Calls are synchronous and durable on return (fsync before returning), so the
 * node never acknowledges an entry that a crash could take back.
 */
export interface LogStore {
  /** 0 when the log holds no entry. */
  firstIndex(): number;
  /** 0 when the log holds no entry. */
  lastIndex(): number;
  get(index: number): LogEntry | undefined;
  /**
   * Entries must follow lastIndex() without a gap (or the log must be empty). Durable on return
   * unless `sync` is false; then the caller must call `sync()` before relying on them.
   */
  append(entries: readonly LogEntry[], options?: { sync?: boolean }): void;
  /** Makes every appended entry durable. */
  sync(): void;
  /** Removes every entry with index >= `index` (a conflicting suffix). */
  truncateSuffix(index: number): void;
  /** Removes every entry with index <= `index` (compaction behind a snapshot). */
  truncatePrefix(index: number): void;
  /** Drops everything, e.g. when a snapshot from the leader replaces the whole log. */
  reset(): void;
  close(): void;
}

export interface HardState {
  term: number;
  votedFor: string | null;
}

/** Term and vote, written atomically and durably. */
export interface StableStore {
  load(): HardState;
  save(state: HardState): void;
  close(): void;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  configuration: Configuration;
  /** Index of the entry that carried `configuration`. */
  configurationIndex: number;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export interface SnapshotStore {
  /** Durable on return; older snapshots beyond the retention count are removed. */
  save(snapshot: Snapshot): void;
  latest(): Snapshot | undefined;
  close(): void;
}

/** Messages between servers. One-way: a reply is another message. */
export type RaftMessage =
  | {
      type: 'vote';
      term: number;
      from: string;
      preVote: boolean;
      lastLogIndex: number;
      lastLogTerm: number;
      /** Set for elections started by TimeoutNow: overrides the followers' leader lease. */
      transfer: boolean;
    }
  | { type: 'vote-response'; term: number; from: string; preVote: boolean; granted: boolean }
  | {
      type: 'append';
      term: number;
      from: string;
      prevLogIndex: number;
      prevLogTerm: number;
      entries: LogEntry[];
      leaderCommit: number;
      /** Echoed by the follower so the leader can match a response to its heartbeat round. */
      seq: number;
    }
  | {
      type: 'append-response';
      term: number;
      from: string;
      success: boolean;
      /** Success: the last index known to match the leader. Failure: the rejected prevLogIndex. */
      index: number;
      /** Failure only: the follower's guess of the last index that could match. */
      hint: number;
      seq: number;
    }
  | {
      type: 'install-snapshot';
      term: number;
      from: string;
      meta: SnapshotMeta;
      data: Uint8Array;
      seq: number;
    }
  | {
      type: 'install-snapshot-response';
      term: number;
      from: string;
      success: boolean;
      index: number;
      seq: number;
    }
  | { type: 'timeout-now'; term: number; from: string };

export type MessageHandler = (message: RaftMessage) => void;

/**
 * Delivers messages to peers, best effort: a message may be lost, delayed, duplicated or
 * reordered, and raft tolerates all of that.
 */
export interface Transport {
  readonly localAddress: string;
  /** Never throws and never blocks: an undeliverable message is dropped. */
  send(to: Server, message: RaftMessage): void;
  setHandler(handler: MessageHandler): void;
  /**
   * Optional: open connections to these servers ahead of need, so an election does not wait for
   * handshakes (two followers campaigning while handshaking is how a vote gets split).
   */
  prepare?(servers: readonly Server[]): void;
  close(): Promise<void>;
}

export type TimerHandle = unknown;

/** Time as raft sees it; the simulator substitutes a fake one. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Runs `fn` after the current event (setImmediate in production) so proposals batch. */
  defer(fn: () => void): void;
}

/** A source of numbers in [0, 1). */
export type RandomSource = () => number;

export type RaftRole = 'follower' | 'candidate' | 'leader';

export type RaftEvent =
  | { type: 'leadership'; isLeader: boolean; term: number; leaderId: string | null }
  | { type: 'configuration'; configuration: Configuration; index: number }
  | { type: 'snapshot'; index: number; term: number; source: 'local' | 'leader' }
  | { type: 'stopped'; error: Error | null };

export interface RaftStats {
  id: string;
  role: RaftRole;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  firstLogIndex: number;
  lastLogIndex: number;
  lastLogTerm: number;
  snapshotIndex: number;
  snapshotTerm: number;
  configuration: Configuration;
  /** Leader only: each follower's known match index. */
  matchIndex: Record<string, number>;
  /** Leader only: ms since each follower last answered. */
  lastContactAgoMs: Record<string, number>;
}
