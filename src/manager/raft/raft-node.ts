import { pino, type Logger } from 'pino';
import { systemClock } from './clock.js';
import { Commitment } from './commitment.js';
import { validateRaftConfig, type RaftConfig } from './config.js';
import { Election } from './election.js';
import { RaftStoppedError } from './errors.js';
import { LeadershipTransfer } from './leadership-transfer.js';
import { Membership } from './membership.js';
import {
  RaftState,
  type BecomeFollower,
  type FollowLeader,
  type SendAppend,
} from './raft-state.js';
import { ReadIndex } from './read-index.js';
import { recover } from './recovery.js';
import { Replication } from './replication.js';
import { Snapshots } from './snapshots.js';
import type {
  Clock,
  Configuration,
  FSM,
  LogStore,
  RaftEvent,
  RaftMessage,
  RaftStats,
  RandomSource,
  SnapshotMeta,
  SnapshotStore,
  StableStore,
  Transport,
} from './types.js';

export interface RaftNodeOptions<R> {
  config: RaftConfig;
  fsm: FSM<R>;
  logStore: LogStore;
  stableStore: StableStore;
  snapshotStore: SnapshotStore;
  transport: Transport;
  clock?: Clock;
  random?: RandomSource;
  logger?: Logger;
  /** The servers of a new cluster. Used only when the stores hold nothing yet. */
  bootstrap?: Configuration;
  /**
   * Where servers outside this node's configuration are reached: a server that joins an
   * existing cluster starts with no configuration and must answer the leader before the log
   * tells it the leader's address (etcd's initial-cluster, in short).
   */
  peerAddresses?: Record<string, string>;
  /**
   * Disaster recovery only (`swarm init --force-new-cluster`): when set, this start replaces the
   * configuration with this server alone, as a voter, keeping the log, the snapshot and so the
   * FSM's state. The other servers are out of the cluster for good. Refused together with
   * `bootstrap` and on empty stores; pass it for one start only, never from a default.
   */
  forceNewCluster?: { reason: string };
}

/**
 * One raft server. All state changes happen synchronously inside message, timer and API
 * handlers on the event loop, so there are no internal races; storage calls are synchronous
 * and durable on return, so nothing is acknowledged before it is on disk.
 *
 * The node composes its parts over one shared RaftState; each part is one concept, in files
 * that import each other in one direction only (see README.md).
 */
export class RaftNode<R = unknown> {
  readonly id: string;
  private readonly state: RaftState<R>;
  private readonly snapshots: Snapshots<R>;
  private readonly readIndex: ReadIndex<R>;
  private readonly transfers: LeadershipTransfer<R>;
  private readonly commitment: Commitment<R>;
  private readonly replication: Replication<R>;
  private readonly election: Election<R>;
  private readonly membership: Membership<R>;
  private started = false;

  constructor(options: RaftNodeOptions<R>) {
    const config = validateRaftConfig({ ...options.config });
    this.id = config.id;
    const s = new RaftState<R>({
      config,
      fsm: options.fsm,
      log: options.logStore,
      stable: options.stableStore,
      snapshots: options.snapshotStore,
      transport: options.transport,
      clock: options.clock ?? systemClock(),
      random: options.random ?? Math.random,
      logger: (options.logger ?? pino({ level: 'silent' })).child({ 'raft.id': this.id }),
      peerAddresses: { ...options.peerAddresses },
      halt: (error) => this.stop(error),
    });
    this.state = s;
    // Calls against the import order, bound late: the parts are built bottom-up.
    const sendAppend: SendAppend = (p, heartbeat) => this.replication.sendAppend(p, heartbeat);
    const becomeFollower: BecomeFollower = (term, leaderId) =>
      this.election.becomeFollower(term, leaderId);
    const followLeader: FollowLeader = (term, leaderId) =>
      this.election.followLeader(term, leaderId);
    this.snapshots = new Snapshots(s, followLeader);
    this.readIndex = new ReadIndex(s, sendAppend);
    this.transfers = new LeadershipTransfer(s, sendAppend);
    this.commitment = new Commitment(s, this.snapshots, this.readIndex, sendAppend, becomeFollower);
    this.replication = new Replication(
      s,
      this.commitment,
      this.readIndex,
      this.transfers,
      followLeader,
    );
    this.election = new Election(s, this.replication);
    this.membership = new Membership(s, this.replication);
    recover(s, options.bootstrap, options.forceNewCluster);
  }

  /** Loads durable state, restores the FSM from the latest snapshot and starts the timers. */
  start(): void {
    const s = this.state;
    if (this.started) return;
    this.started = true;
    s.transport.setHandler((m) => s.guard(() => this.step(m)));
    this.election.resetElectionTimer();
    s.logger.info({ 'raft.term': s.term, 'raft.lastIndex': s.lastIndex() }, 'raft server started');
  }

  /** Stops timers and message handling; every waiting request fails. Stores stay open. */
  stop(error: Error | null = null): void {
    const s = this.state;
    if (s.stopped) return;
    s.stopped = true;
    s.fatal = error;
    s.transport.setHandler(() => {});
    this.election.clearTimers();
    const e = new RaftStoppedError(error ?? undefined);
    this.failPending(e);
    this.transfers.abort(e);
    s.emit({ type: 'stopped', error });
  }

  // ---------------------------------------------------------------------------- public API

  /** Resolves with the FSM's result once the entry is committed and applied on this leader. */
  propose(data: Uint8Array): Promise<R> {
    const s = this.state;
    return new Promise<R>((resolve, reject) => {
      const refusal = s.refuseWrite();
      if (refusal !== null) {
        reject(refusal);
        return;
      }
      this.replication.enqueue({
        type: 'command',
        data,
        pending: { term: s.term, resolve, reject },
      });
    });
  }

  /**
   * Resolves once this server has confirmed it is still the leader after the call and has
   * applied everything committed before it: a read of the FSM afterwards is linearizable.
   */
  readBarrier(): Promise<number> {
    return this.readIndex.barrier();
  }

  addVoter(id: string, address: string): Promise<void> {
    return this.membership.addVoter(id, address);
  }

  addNonVoter(id: string, address: string): Promise<void> {
    return this.membership.addNonVoter(id, address);
  }

  removeServer(id: string): Promise<void> {
    return this.membership.removeServer(id);
  }

  /**
   * Hands leadership to `target` (or the most up-to-date voter): brings it up to date, then
   * tells it to campaign at once. Proposals are refused meanwhile.
   */
  leadershipTransfer(target?: string): Promise<void> {
    return this.transfers.start(target);
  }

  /** Takes a snapshot of the FSM now and compacts the log behind it. */
  snapshot(): SnapshotMeta {
    const s = this.state;
    if (s.stopped) throw new RaftStoppedError(s.fatal ?? undefined);
    return this.snapshots.take();
  }

  subscribe(listener: (e: RaftEvent) => void): () => void {
    const s = this.state;
    s.listeners.add(listener);
    return () => s.listeners.delete(listener);
  }

  isLeader(): boolean {
    return this.state.role === 'leader' && !this.state.stopped;
  }

  leader(): { id: string; address: string } | null {
    const s = this.state;
    if (s.leaderId === null) return null;
    return { id: s.leaderId, address: s.addressOf(s.leaderId) ?? '' };
  }

  configuration(): Configuration {
    return this.state.configuration();
  }

  stats(): RaftStats {
    const s = this.state;
    const matchIndex: Record<string, number> = {};
    const lastContactAgoMs: Record<string, number> = {};
    const now = s.clock.now();
    for (const [id, p] of s.progress) {
      matchIndex[id] = p.match;
      lastContactAgoMs[id] = now - p.lastContactMs;
    }
    return {
      id: this.id,
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      firstLogIndex: s.log.firstIndex(),
      lastLogIndex: s.lastIndex(),
      lastLogTerm: s.termAt(s.lastIndex()) ?? 0,
      snapshotIndex: s.snapshotIndex,
      snapshotTerm: s.snapshotTerm,
      configuration: this.configuration(),
      matchIndex,
      lastContactAgoMs,
    };
  }

  // ---------------------------------------------------------------------------- internals

  private failPending(e: Error): void {
    const s = this.state;
    const pending = [...s.pending.values()];
    s.pending.clear();
    const queued = s.queue;
    s.queue = [];
    const reads = s.reads;
    s.reads = [];
    for (const p of pending) p.reject(e);
    for (const q of queued) q.pending?.reject(e);
    for (const r of reads) r.reject(e);
  }

  /** Term rules common to every message, then the part that handles it. */
  private step(m: RaftMessage): void {
    const s = this.state;
    if (m.from === s.id) return;
    if (m.type === 'vote') {
      this.election.onVote(m);
      return;
    }
    if (m.type === 'vote-response' && m.preVote) {
      // A granted pre-vote carries the hypothetical term; only a refusal can teach a newer one.
      if (!m.granted && m.term > s.term) this.election.becomeFollower(m.term, null);
      else this.election.onVoteResponse(m);
      return;
    }
    if (m.term > s.term) {
      const fromLeader =
        m.type === 'append' || m.type === 'install-snapshot' || m.type === 'timeout-now';
      this.election.becomeFollower(m.term, fromLeader ? m.from : null);
    } else if (m.term < s.term) {
      // A deposed leader learns the new term from our refusal.
      if (m.type === 'append') {
        s.transport.send(s.serverFor(m.from), {
          type: 'append-response',
          term: s.term,
          from: s.id,
          success: false,
          index: m.prevLogIndex,
          hint: s.lastIndex(),
          seq: m.seq,
        });
      } else if (m.type === 'install-snapshot') {
        s.transport.send(s.serverFor(m.from), {
          type: 'install-snapshot-response',
          term: s.term,
          from: s.id,
          success: false,
          index: 0,
          seq: m.seq,
        });
      }
      return;
    }
    switch (m.type) {
      case 'vote-response':
        this.election.onVoteResponse(m);
        break;
      case 'append':
        this.replication.onAppend(m);
        break;
      case 'append-response':
        this.replication.onAppendResponse(m);
        break;
      case 'install-snapshot':
        this.snapshots.onInstallSnapshot(m);
        break;
      case 'install-snapshot-response':
        this.replication.onInstallSnapshotResponse(m);
        break;
      case 'timeout-now':
        this.election.onTimeoutNow();
        break;
    }
  }
}
