import type { Logger } from 'pino';
import type { RaftConfig } from './config.js';
import { decodeConfiguration } from './configuration.js';
import { NotLeaderError, RaftStoppedError } from './errors.js';
import type {
  Clock,
  Configuration,
  FSM,
  LogEntry,
  LogStore,
  RaftEvent,
  RaftMessage,
  RaftRole,
  RandomSource,
  Server,
  SnapshotStore,
  StableStore,
  TimerHandle,
  Transport,
} from './types.js';

export type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;

export interface Progress {
  server: Server;
  next: number;
  match: number;
  /** probe: one message at a time until the match point is found; replicate: pipelined. */
  state: 'probe' | 'replicate' | 'snapshot';
  probeSent: boolean;
  /** Last index of each AppendEntries in flight, oldest first. */
  inflight: number[];
  lastContactMs: number;
  ackedSeq: number;
  snapshotSentMs: number;
}

export interface PendingProposal<R> {
  term: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

export interface PendingRead {
  /** Commit index at the time the read was confirmed to need; 0 until assigned. */
  index: number;
  seq: number;
  confirmed: boolean;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
}

export interface QueuedEntry<R> {
  type: LogEntry['type'];
  data: Uint8Array;
  pending: PendingProposal<R> | undefined;
}

export interface Transfer {
  target: string;
  timer: TimerHandle;
  timeoutSent: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

// The parts import each other in one direction only: election and membership → replication →
// commitment → snapshots and read index; replication → leadership transfer. The few calls that
// go the other way are these functions, which RaftNode binds when it composes the parts.

/** Replication's send (used by read index, leadership transfer and commitment). */
export type SendAppend = (p: Progress, heartbeat: boolean) => void;

/** Election's step-down (used by commitment when a leader's own removal commits). */
export type BecomeFollower = (term: number, leaderId: string | null) => void;

/** Election's bookkeeping on a message from the leader (used by replication and snapshots). */
export type FollowLeader = (term: number, leaderId: string) => void;

export interface RaftEnvironment<R> {
  config: RaftConfig;
  fsm: FSM<R>;
  log: LogStore;
  stable: StableStore;
  snapshots: SnapshotStore;
  transport: Transport;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  peerAddresses: Record<string, string>;
  /** Stops the node; `guard` calls it when a handler throws. */
  halt: (error: Error) => void;
}

/**
 * The state of one raft server and the collaborators it was given, shared by the parts that
 * act on it (election, replication, commitment, snapshots, read index, leadership transfer,
 * membership). State that only one part touches lives in that part instead.
 */
export class RaftState<R> {
  readonly id: string;
  readonly config: RaftConfig;
  readonly fsm: FSM<R>;
  readonly log: LogStore;
  readonly stable: StableStore;
  readonly snapshots: SnapshotStore;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  private readonly peerAddresses: Record<string, string>;
  private readonly halt: (error: Error) => void;

  role: RaftRole = 'follower';
  term = 0;
  votedFor: string | null = null;
  leaderId: string | null = null;
  commitIndex = 0;
  appliedIndex = 0;
  snapshotIndex = 0;
  snapshotTerm = 0;
  latestConfig: Configuration = { servers: [] };
  latestConfigIndex = 0;
  appliedConfig: Configuration = { servers: [] };
  appliedConfigIndex = 0;

  progress = new Map<string, Progress>();
  pending = new Map<number, PendingProposal<R>>();
  queue: QueuedEntry<R>[] = [];
  reads: PendingRead[] = [];
  seq = 0;
  /** Index of the no-op a leader appends; reads wait until it commits. */
  leaderStartIndex = 0;
  transfer: Transfer | null = null;

  readonly listeners = new Set<(e: RaftEvent) => void>();
  stopped = false;
  fatal: Error | null = null;

  constructor(env: RaftEnvironment<R>) {
    this.id = env.config.id;
    this.config = env.config;
    this.fsm = env.fsm;
    this.log = env.log;
    this.stable = env.stable;
    this.snapshots = env.snapshots;
    this.transport = env.transport;
    this.clock = env.clock;
    this.random = env.random;
    this.logger = env.logger;
    this.peerAddresses = env.peerAddresses;
    this.halt = env.halt;
  }

  guard(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch (e) {
      // Storage I/O failures and FSM bugs: continuing could diverge from the cluster.
      const error = e instanceof Error ? e : new Error(String(e));
      this.logger.error({ err: error }, 'raft server stopped on an error');
      this.halt(error);
    }
  }

  emit(e: RaftEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.warn({ err }, 'raft event listener threw');
      }
    }
  }

  configuration(): Configuration {
    return structuredClone(this.latestConfig);
  }

  lastIndex(): number {
    return Math.max(this.log.lastIndex(), this.snapshotIndex);
  }

  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.log.get(index)?.term;
  }

  isVoter(id: string): boolean {
    return this.latestConfig.servers.some((s) => s.id === id && s.suffrage === 'voter');
  }

  addressOf(id: string): string | undefined {
    return this.latestConfig.servers.find((s) => s.id === id)?.address;
  }

  quorumSize(): number {
    const voters = this.latestConfig.servers.filter((s) => s.suffrage === 'voter').length;
    return Math.floor(voters / 2) + 1;
  }

  notLeader(): NotLeaderError {
    const leader = this.leaderId !== null && this.leaderId !== this.id ? this.leaderId : null;
    return new NotLeaderError(leader, leader === null ? null : (this.addressOf(leader) ?? null));
  }

  refuseWrite(): Error | null {
    if (this.stopped) return new RaftStoppedError(this.fatal ?? undefined);
    if (this.role !== 'leader') return this.notLeader();
    if (this.transfer !== null) return new NotLeaderError(null, null);
    return null;
  }

  saveHardState(): void {
    this.stable.save({ term: this.term, votedFor: this.votedFor });
  }

  /** A message may come from a server we do not know yet (a new leader's configuration). */
  serverFor(id: string): Server {
    return (
      this.latestConfig.servers.find((s) => s.id === id) ??
      this.progress.get(id)?.server ?? {
        id,
        // Unknown: the id itself (the in-memory transport addresses servers by id; the TCP one
        // drops a frame it has no host:port for, e.g. a reply to a removed server).
        address: this.peerAddresses[id] ?? id,
        suffrage: 'nonvoter',
      }
    );
  }

  recomputeLatestConfig(): void {
    const first = Math.max(this.log.firstIndex(), this.snapshotIndex + 1);
    for (let i = this.log.lastIndex(); i >= first && i > 0; i--) {
      const e = this.log.get(i);
      if (e?.type === 'config') {
        this.latestConfig = decodeConfiguration(e.data);
        this.latestConfigIndex = i;
        return;
      }
    }
    this.latestConfig = structuredClone(this.appliedConfig);
    this.latestConfigIndex = this.appliedConfigIndex;
  }
}
