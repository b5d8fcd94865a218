import { pino, type Logger } from 'pino';
import { conflict, invalidArgument } from '../../api/errors.js';
import { systemClock } from './clock.js';
import { validateRaftConfig, type RaftConfig } from './config.js';
import { decodeConfiguration, encodeConfiguration } from './configuration.js';
import { LeadershipLostError, NotLeaderError, RaftStoppedError } from './errors.js';
import type {
  Clock,
  Configuration,
  FSM,
  LogEntry,
  LogStore,
  RaftEvent,
  RaftMessage,
  RaftRole,
  RaftStats,
  RandomSource,
  Server,
  SnapshotMeta,
  SnapshotStore,
  StableStore,
  TimerHandle,
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

type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;

interface Progress {
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

interface PendingProposal<R> {
  term: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

interface PendingRead {
  /** Commit index at the time the read was confirmed to need; 0 until assigned. */
  index: number;
  seq: number;
  confirmed: boolean;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
}

interface QueuedEntry<R> {
  type: LogEntry['type'];
  data: Uint8Array;
  pending: PendingProposal<R> | undefined;
}

interface Transfer {
  target: string;
  timer: TimerHandle;
  timeoutSent: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

const emptyData = new Uint8Array(0);

/**
 * One raft server. All state changes happen synchronously inside message, timer and API
 * handlers on the event loop, so there are no internal races; storage calls are synchronous
 * and durable on return, so nothing is acknowledged before it is on disk.
 */
export class RaftNode<R = unknown> {
  readonly id: string;
  private readonly config: RaftConfig;
  private readonly fsm: FSM<R>;
  private readonly log: LogStore;
  private readonly stable: StableStore;
  private readonly snapshots: SnapshotStore;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly logger: Logger;

  private role: RaftRole = 'follower';
  private preCandidate = false;
  private term = 0;
  private votedFor: string | null = null;
  private leaderId: string | null = null;
  private commitIndex = 0;
  private appliedIndex = 0;
  private snapshotIndex = 0;
  private snapshotTerm = 0;
  private latestConfig: Configuration = { servers: [] };
  private latestConfigIndex = 0;
  private appliedConfig: Configuration = { servers: [] };
  private appliedConfigIndex = 0;

  private votes = new Set<string>();
  private progress = new Map<string, Progress>();
  private readonly peerAddresses: Record<string, string>;
  private pending = new Map<number, PendingProposal<R>>();
  private queue: QueuedEntry<R>[] = [];
  private flushScheduled = false;
  private commitBroadcastScheduled = false;
  private reads: PendingRead[] = [];
  private seq = 0;
  /** Index of the no-op a leader appends; reads wait until it commits. */
  private leaderStartIndex = 0;
  private transfer: Transfer | null = null;
  private lastLeaderContactMs = -Infinity;

  private electionTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private quorumTimer: TimerHandle | undefined;
  private listeners = new Set<(e: RaftEvent) => void>();
  private stopped = false;
  private started = false;
  private fatal: Error | null = null;

  constructor(options: RaftNodeOptions<R>) {
    this.config = validateRaftConfig({ ...options.config });
    this.id = this.config.id;
    this.fsm = options.fsm;
    this.log = options.logStore;
    this.stable = options.stableStore;
    this.snapshots = options.snapshotStore;
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock();
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ 'raft.id': this.id });
    this.peerAddresses = { ...options.peerAddresses };
    this.recover(options.bootstrap);
    if (options.forceNewCluster !== undefined) {
      if (options.bootstrap !== undefined) {
        throw invalidArgument('raft: forceNewCluster and bootstrap exclude each other');
      }
      this.forceSoleVoter(options.forceNewCluster.reason);
    }
  }

  /** Loads durable state, restores the FSM from the latest snapshot and starts the timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.transport.setHandler((m) => this.guard(() => this.step(m)));
    this.resetElectionTimer();
    this.logger.info(
      { 'raft.term': this.term, 'raft.lastIndex': this.lastIndex() },
      'raft server started',
    );
  }

  /** Stops timers and message handling; every waiting request fails. Stores stay open. */
  stop(error: Error | null = null): void {
    if (this.stopped) return;
    this.stopped = true;
    this.fatal = error;
    this.transport.setHandler(() => {});
    this.clearTimers();
    const e = new RaftStoppedError(error ?? undefined);
    this.failPending(e);
    this.abortTransfer(e);
    this.emit({ type: 'stopped', error });
  }

  // ---------------------------------------------------------------------------- public API

  /** Resolves with the FSM's result once the entry is committed and applied on this leader. */
  propose(data: Uint8Array): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const refusal = this.refuseWrite();
      if (refusal !== null) {
        reject(refusal);
        return;
      }
      this.enqueue({ type: 'command', data, pending: { term: this.term, resolve, reject } });
    });
  }

  /**
   * Resolves once this server has confirmed it is still the leader after the call and has
   * applied everything committed before it: a read of the FSM afterwards is linearizable.
   */
  readBarrier(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.stopped) return reject(new RaftStoppedError(this.fatal ?? undefined));
      if (this.role !== 'leader') return reject(this.notLeader());
      this.reads.push({ index: 0, seq: 0, confirmed: false, resolve, reject });
      this.advanceReads();
    });
  }

  addVoter(id: string, address: string): Promise<void> {
    return this.changeConfiguration((servers) => {
      const others = servers.filter((s) => s.id !== id);
      return [...others, { id, address, suffrage: 'voter' }];
    });
  }

  addNonVoter(id: string, address: string): Promise<void> {
    return this.changeConfiguration((servers) => {
      const existing = servers.find((s) => s.id === id);
      // Demoting a voter goes through removeServer; addNonVoter never takes a vote away.
      if (existing?.suffrage === 'voter') return servers;
      const others = servers.filter((s) => s.id !== id);
      return [...others, { id, address, suffrage: 'nonvoter' }];
    });
  }

  removeServer(id: string): Promise<void> {
    return this.changeConfiguration((servers) => {
      if (!servers.some((s) => s.id === id)) {
        throw invalidArgument(`raft: server ${id} is not in the configuration`);
      }
      return servers.filter((s) => s.id !== id);
    });
  }

  /**
   * Hands leadership to `target` (or the most up-to-date voter): brings it up to date, then
   * tells it to campaign at once. Proposals are refused meanwhile.
   */
  leadershipTransfer(target?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.stopped) return reject(new RaftStoppedError(this.fatal ?? undefined));
      if (this.role !== 'leader') return reject(this.notLeader());
      if (this.transfer !== null)
        return reject(conflict('raft: a leadership transfer is already in progress'));
      let chosen: Progress | undefined;
      if (target !== undefined) {
        chosen = this.progress.get(target);
        if (chosen === undefined || chosen.server.suffrage !== 'voter') {
          return reject(
            invalidArgument(`raft: leadership transfer target ${target} is not a voter`),
          );
        }
      } else {
        for (const p of this.progress.values()) {
          if (p.server.suffrage !== 'voter') continue;
          if (chosen === undefined || p.match > chosen.match) chosen = p;
        }
        if (chosen === undefined) {
          return reject(invalidArgument('raft: no other voter to transfer leadership to'));
        }
      }
      const to = chosen.server.id;
      const timer = this.clock.setTimeout(
        () =>
          this.guard(() =>
            this.abortTransfer(
              new LeadershipLostError(`raft: leadership transfer to ${to} timed out`),
            ),
          ),
        this.config.leadershipTransferTimeoutMs,
      );
      this.transfer = { target: to, timer, timeoutSent: false, resolve, reject };
      this.logger.info({ 'raft.target': to }, 'leadership transfer started');
      this.maybeSendTimeoutNow(chosen);
    });
  }

  /** Takes a snapshot of the FSM now and compacts the log behind it. */
  snapshot(): SnapshotMeta {
    if (this.stopped) throw new RaftStoppedError(this.fatal ?? undefined);
    return this.takeSnapshot();
  }

  subscribe(listener: (e: RaftEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isLeader(): boolean {
    return this.role === 'leader' && !this.stopped;
  }

  leader(): { id: string; address: string } | null {
    if (this.leaderId === null) return null;
    return { id: this.leaderId, address: this.addressOf(this.leaderId) ?? '' };
  }

  configuration(): Configuration {
    return structuredClone(this.latestConfig);
  }

  stats(): RaftStats {
    const matchIndex: Record<string, number> = {};
    const lastContactAgoMs: Record<string, number> = {};
    const now = this.clock.now();
    for (const [id, p] of this.progress) {
      matchIndex[id] = p.match;
      lastContactAgoMs[id] = now - p.lastContactMs;
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leaderId: this.leaderId,
      commitIndex: this.commitIndex,
      appliedIndex: this.appliedIndex,
      firstLogIndex: this.log.firstIndex(),
      lastLogIndex: this.lastIndex(),
      lastLogTerm: this.termAt(this.lastIndex()) ?? 0,
      snapshotIndex: this.snapshotIndex,
      snapshotTerm: this.snapshotTerm,
      configuration: this.configuration(),
      matchIndex,
      lastContactAgoMs,
    };
  }

  // ---------------------------------------------------------------------------- recovery

  private recover(bootstrap: Configuration | undefined): void {
    const hard = this.stable.load();
    this.term = hard.term;
    this.votedFor = hard.votedFor;
    const snap = this.snapshots.latest();
    if (snap !== undefined) {
      this.fsm.restore(snap.data);
      this.snapshotIndex = snap.meta.index;
      this.snapshotTerm = snap.meta.term;
      this.commitIndex = this.appliedIndex = snap.meta.index;
      this.appliedConfig = structuredClone(snap.meta.configuration);
      this.appliedConfigIndex = snap.meta.configurationIndex;
      const first = this.log.firstIndex();
      if (first !== 0 && first > this.snapshotIndex + 1) {
        throw new Error(
          `raft: log starts at ${first} but the latest snapshot ends at ${this.snapshotIndex}: entries are missing`,
        );
      }
      if (this.log.lastIndex() !== 0 && this.log.lastIndex() < this.snapshotIndex) this.log.reset();
    } else if (this.log.firstIndex() > 1) {
      throw new Error(`raft: log starts at ${this.log.firstIndex()} and there is no snapshot`);
    }
    const empty = snap === undefined && this.log.lastIndex() === 0 && hard.term === 0;
    if (empty && bootstrap !== undefined) {
      checkConfiguration(bootstrap);
      if (!bootstrap.servers.some((s) => s.id === this.id)) {
        throw invalidArgument(
          `raft: bootstrap configuration does not contain this server (${this.id})`,
        );
      }
      this.log.append([
        { index: 1, term: 1, type: 'config', data: encodeConfiguration(bootstrap) },
      ]);
      this.term = 1;
      this.stable.save({ term: 1, votedFor: null });
    }
    this.recomputeLatestConfig();
  }

  /**
   * Appends a configuration entry naming only this server, in a term above any seen, as
   * etcd's --force-new-cluster does. Config entries take effect when appended, so the next
   * election needs only this vote; its no-op then commits everything the log holds.
   */
  private forceSoleVoter(reason: string): void {
    const last = this.lastIndex();
    if (last === 0) {
      throw invalidArgument('raft: forceNewCluster needs existing state; this server has none');
    }
    const lastTerm = this.termAt(last) ?? this.snapshotTerm;
    const term = Math.max(this.term, lastTerm) + 1;
    const self: Server = { id: this.id, address: this.transport.localAddress, suffrage: 'voter' };
    const dropped = this.latestConfig.servers.filter((s) => s.id !== this.id).map((s) => s.id);
    this.stable.save({ term, votedFor: null });
    this.term = term;
    this.votedFor = null;
    this.log.append([
      { index: last + 1, term, type: 'config', data: encodeConfiguration({ servers: [self] }) },
    ]);
    this.recomputeLatestConfig();
    this.logger.warn(
      { 'raft.term': term, 'raft.index': last + 1, 'raft.removed': dropped, reason },
      'forced a new cluster: this server is the only voter',
    );
  }

  private recomputeLatestConfig(): void {
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

  // ---------------------------------------------------------------------------- helpers

  private guard(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch (e) {
      // Storage I/O failures and FSM bugs: continuing could diverge from the cluster.
      const error = e instanceof Error ? e : new Error(String(e));
      this.logger.error({ err: error }, 'raft server stopped on an error');
      this.stop(error);
    }
  }

  private emit(e: RaftEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.warn({ err }, 'raft event listener threw');
      }
    }
  }

  private lastIndex(): number {
    return Math.max(this.log.lastIndex(), this.snapshotIndex);
  }

  private termAt(index: number): number | undefined {
    if (index === 0) return 0;
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.log.get(index)?.term;
  }

  private isVoter(id: string): boolean {
    return this.latestConfig.servers.some((s) => s.id === id && s.suffrage === 'voter');
  }

  private addressOf(id: string): string | undefined {
    return this.latestConfig.servers.find((s) => s.id === id)?.address;
  }

  private quorumSize(): number {
    const voters = this.latestConfig.servers.filter((s) => s.suffrage === 'voter').length;
    return Math.floor(voters / 2) + 1;
  }

  private notLeader(): NotLeaderError {
    const leader = this.leaderId !== null && this.leaderId !== this.id ? this.leaderId : null;
    return new NotLeaderError(leader, leader === null ? null : (this.addressOf(leader) ?? null));
  }

  private refuseWrite(): Error | null {
    if (this.stopped) return new RaftStoppedError(this.fatal ?? undefined);
    if (this.role !== 'leader') return this.notLeader();
    if (this.transfer !== null) return new NotLeaderError(null, null);
    return null;
  }

  private saveHardState(): void {
    this.stable.save({ term: this.term, votedFor: this.votedFor });
  }

  private clearTimers(): void {
    for (const t of [this.electionTimer, this.heartbeatTimer, this.quorumTimer]) {
      if (t !== undefined) this.clock.clearTimeout(t);
    }
    this.electionTimer = this.heartbeatTimer = this.quorumTimer = undefined;
  }

  private resetElectionTimer(): void {
    this.transport.prepare?.(this.latestConfig.servers);
    if (this.electionTimer !== undefined) this.clock.clearTimeout(this.electionTimer);
    // [T, 1.5·T): wide enough that two followers rarely time out within one round trip of each
    // other, narrow enough that a dead leader is replaced well within 2 s at the default T.
    const ms = this.config.electionTimeoutMs * (1 + this.random() / 2);
    this.electionTimer = this.clock.setTimeout(
      () => this.guard(() => this.onElectionTimeout()),
      ms,
    );
  }

  private failPending(e: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    const queued = this.queue;
    this.queue = [];
    const reads = this.reads;
    this.reads = [];
    for (const p of pending) p.reject(e);
    for (const q of queued) q.pending?.reject(e);
    for (const r of reads) r.reject(e);
  }

  // ---------------------------------------------------------------------------- roles

  private becomeFollower(term: number, leaderId: string | null): void {
    const wasLeader = this.role === 'leader';
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
      this.saveHardState();
    }
    this.role = 'follower';
    this.preCandidate = false;
    const leaderChanged = this.leaderId !== leaderId;
    this.leaderId = leaderId;
    if (this.heartbeatTimer !== undefined) this.clock.clearTimeout(this.heartbeatTimer);
    if (this.quorumTimer !== undefined) this.clock.clearTimeout(this.quorumTimer);
    this.heartbeatTimer = this.quorumTimer = undefined;
    this.resetElectionTimer();
    if (wasLeader) {
      this.progress.clear();
      const lost = new LeadershipLostError();
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const p of pending) p.reject(lost);
      const queued = this.queue;
      this.queue = [];
      for (const q of queued) q.pending?.reject(this.notLeader());
      const reads = this.reads;
      this.reads = [];
      for (const r of reads) r.reject(lost);
      if (this.transfer !== null) {
        const t = this.transfer;
        this.transfer = null;
        this.clock.clearTimeout(t.timer);
        t.resolve();
      }
      this.logger.info({ 'raft.term': this.term }, 'stepped down');
    }
    if (wasLeader || leaderChanged) {
      this.emit({ type: 'leadership', isLeader: false, term: this.term, leaderId });
    }
  }

  private onElectionTimeout(): void {
    this.electionTimer = undefined;
    if (this.role === 'leader') return;
    if (!this.isVoter(this.id)) {
      this.resetElectionTimer();
      return;
    }
    if (this.config.preVote) this.campaign(true, false);
    else this.campaign(false, false);
  }

  private campaign(preVote: boolean, transfer: boolean): void {
    const wasLeaderKnown = this.leaderId !== null;
    this.role = 'candidate';
    this.preCandidate = preVote;
    this.leaderId = null;
    if (!preVote) {
      this.term += 1;
      this.votedFor = this.id;
      this.saveHardState();
    }
    if (wasLeaderKnown)
      this.emit({ type: 'leadership', isLeader: false, term: this.term, leaderId: null });
    this.votes = new Set([this.id]);
    this.resetElectionTimer();
    this.logger.debug({ 'raft.term': this.term, 'raft.preVote': preVote }, 'campaigning');
    if (this.votes.size >= this.quorumSize()) {
      this.onVoteQuorum();
      return;
    }
    const lastLogIndex = this.lastIndex();
    const lastLogTerm = this.termAt(lastLogIndex) ?? 0;
    for (const s of this.latestConfig.servers) {
      if (s.id === this.id || s.suffrage !== 'voter') continue;
      this.transport.send(s, {
        type: 'vote',
        term: preVote ? this.term + 1 : this.term,
        from: this.id,
        preVote,
        lastLogIndex,
        lastLogTerm,
        transfer,
      });
    }
  }

  private onVoteQuorum(): void {
    if (this.preCandidate) this.campaign(false, false);
    else this.becomeLeader();
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.preCandidate = false;
    this.leaderId = this.id;
    if (this.electionTimer !== undefined) this.clock.clearTimeout(this.electionTimer);
    this.electionTimer = undefined;
    this.progress.clear();
    const now = this.clock.now();
    for (const s of this.latestConfig.servers) {
      if (s.id === this.id) continue;
      this.progress.set(s.id, this.newProgress(s, now));
    }
    this.logger.info({ 'raft.term': this.term }, 'became leader');
    this.emit({ type: 'leadership', isLeader: true, term: this.term, leaderId: this.id });
    this.leaderStartIndex = this.lastIndex() + 1;
    this.enqueue({ type: 'noop', data: emptyData, pending: undefined });
    this.flush();
    this.scheduleHeartbeat();
    this.scheduleQuorumCheck();
  }

  private newProgress(server: Server, now: number): Progress {
    return {
      server,
      next: this.lastIndex() + 1,
      match: 0,
      state: 'probe',
      probeSent: false,
      inflight: [],
      lastContactMs: now,
      ackedSeq: 0,
      snapshotSentMs: 0,
    };
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.clock.setTimeout(
      () =>
        this.guard(() => {
          if (this.role !== 'leader') return;
          this.broadcastHeartbeat();
          this.scheduleHeartbeat();
        }),
      this.config.heartbeatIntervalMs,
    );
  }

  private scheduleQuorumCheck(): void {
    this.quorumTimer = this.clock.setTimeout(
      () =>
        this.guard(() => {
          if (this.role !== 'leader') return;
          if (this.config.checkQuorum && !this.hasRecentQuorum()) {
            this.logger.warn(
              { 'raft.term': this.term },
              'lost contact with a quorum; stepping down',
            );
            this.becomeFollower(this.term, null);
            return;
          }
          this.scheduleQuorumCheck();
        }),
      this.config.electionTimeoutMs,
    );
  }

  private hasRecentQuorum(): boolean {
    const since = this.clock.now() - this.config.electionTimeoutMs;
    let n = this.isVoter(this.id) ? 1 : 0;
    for (const p of this.progress.values()) {
      if (p.server.suffrage === 'voter' && p.lastContactMs >= since) n++;
    }
    return n >= this.quorumSize();
  }

  // ---------------------------------------------------------------------------- messages

  private step(m: RaftMessage): void {
    if (m.from === this.id) return;
    if (m.type === 'vote') {
      this.onVote(m);
      return;
    }
    if (m.type === 'vote-response' && m.preVote) {
      // A granted pre-vote carries the hypothetical term; only a refusal can teach a newer one.
      if (!m.granted && m.term > this.term) this.becomeFollower(m.term, null);
      else this.onVoteResponse(m);
      return;
    }
    if (m.term > this.term) {
      const fromLeader =
        m.type === 'append' || m.type === 'install-snapshot' || m.type === 'timeout-now';
      this.becomeFollower(m.term, fromLeader ? m.from : null);
    } else if (m.term < this.term) {
      // A deposed leader learns the new term from our refusal.
      if (m.type === 'append') {
        this.transport.send(this.serverFor(m.from), {
          type: 'append-response',
          term: this.term,
          from: this.id,
          success: false,
          index: m.prevLogIndex,
          hint: this.lastIndex(),
          seq: m.seq,
        });
      } else if (m.type === 'install-snapshot') {
        this.transport.send(this.serverFor(m.from), {
          type: 'install-snapshot-response',
          term: this.term,
          from: this.id,
          success: false,
          index: 0,
          seq: m.seq,
        });
      }
      return;
    }
    switch (m.type) {
      case 'vote-response':
        this.onVoteResponse(m);
        break;
      case 'append':
        this.onAppend(m);
        break;
      case 'append-response':
        this.onAppendResponse(m);
        break;
      case 'install-snapshot':
        this.onInstallSnapshot(m);
        break;
      case 'install-snapshot-response':
        this.onInstallSnapshotResponse(m);
        break;
      case 'timeout-now':
        if (this.role !== 'leader' && this.isVoter(this.id)) {
          this.logger.info(
            { 'raft.term': this.term },
            'campaigning at once on request of the leader',
          );
          this.campaign(false, true);
        }
        break;
    }
  }

  /** A message may come from a server we do not know yet (a new leader's configuration). */
  private serverFor(id: string): Server {
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

  private inLease(): boolean {
    if (!this.config.checkQuorum) return false;
    if (this.role === 'leader') return true;
    return (
      this.leaderId !== null &&
      this.clock.now() - this.lastLeaderContactMs < this.config.electionTimeoutMs
    );
  }

  private onVote(m: Msg<'vote'>): void {
    const reply = (granted: boolean, term: number): void =>
      this.transport.send(this.serverFor(m.from), {
        type: 'vote-response',
        term,
        from: this.id,
        preVote: m.preVote,
        granted,
      });
    // A server that still hears from its leader ignores campaigns, so a node that was cut off
    // cannot depose a healthy leader when it returns.
    if (!m.transfer && this.inLease() && m.term > this.term) {
      reply(false, this.term);
      return;
    }
    const upToDate =
      m.lastLogTerm > (this.termAt(this.lastIndex()) ?? 0) ||
      (m.lastLogTerm === (this.termAt(this.lastIndex()) ?? 0) &&
        m.lastLogIndex >= this.lastIndex());
    if (m.preVote) {
      reply(m.term > this.term && upToDate, m.term > this.term && upToDate ? m.term : this.term);
      return;
    }
    if (m.term > this.term) this.becomeFollower(m.term, null);
    if (m.term < this.term) {
      reply(false, this.term);
      return;
    }
    const canVote = this.votedFor === null || this.votedFor === m.from;
    if (canVote && upToDate && this.role !== 'leader') {
      this.votedFor = m.from;
      this.saveHardState();
      this.resetElectionTimer();
      reply(true, this.term);
    } else {
      reply(false, this.term);
    }
  }

  private onVoteResponse(m: Msg<'vote-response'>): void {
    if (this.role !== 'candidate' || m.preVote !== this.preCandidate) return;
    if (!this.isVoter(m.from) || !m.granted) return;
    this.votes.add(m.from);
    if (this.votes.size >= this.quorumSize()) this.onVoteQuorum();
  }

  private onAppend(m: Msg<'append'>): void {
    if (this.role !== 'follower' || this.leaderId !== m.from) this.becomeFollower(m.term, m.from);
    this.lastLeaderContactMs = this.clock.now();
    this.resetElectionTimer();
    const respond = (success: boolean, index: number, hint: number): void =>
      this.transport.send(this.serverFor(m.from), {
        type: 'append-response',
        term: this.term,
        from: this.id,
        success,
        index,
        hint,
        seq: m.seq,
      });

    let prevLogIndex = m.prevLogIndex;
    let entries = m.entries;
    // Anything at or below our commit index is already known to match the leader.
    if (prevLogIndex < this.commitIndex) {
      const skip = Math.min(entries.length, this.commitIndex - prevLogIndex);
      entries = entries.slice(skip);
      if (entries.length === 0) {
        respond(true, Math.max(this.commitIndex, 0), 0);
        this.advanceFollowerCommit(m.leaderCommit, this.commitIndex);
        return;
      }
      prevLogIndex = this.commitIndex;
    } else {
      const t = this.termAt(prevLogIndex);
      if (t !== m.prevLogTerm) {
        respond(false, m.prevLogIndex, this.conflictHint(prevLogIndex, t));
        return;
      }
    }
    let appendFrom = -1;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const mine = this.termAt(e.index);
      if (mine === undefined || e.index > this.lastIndex()) {
        appendFrom = i;
        break;
      }
      if (mine !== e.term) {
        if (e.index <= this.commitIndex) {
          throw new Error(`raft: leader ${m.from} contradicts committed entry ${e.index}`);
        }
        this.log.truncateSuffix(e.index);
        if (this.latestConfigIndex >= e.index) this.recomputeLatestConfig();
        appendFrom = i;
        break;
      }
    }
    if (appendFrom >= 0) {
      const fresh = entries.slice(appendFrom);
      this.log.append(fresh);
      for (const e of fresh) {
        if (e.type === 'config') {
          this.latestConfig = decodeConfiguration(e.data);
          this.latestConfigIndex = e.index;
          this.emit({ type: 'configuration', configuration: this.configuration(), index: e.index });
        }
      }
    }
    const lastNew = prevLogIndex + entries.length;
    respond(true, lastNew, 0);
    this.advanceFollowerCommit(m.leaderCommit, lastNew);
  }

  private conflictHint(prevLogIndex: number, myTerm: number | undefined): number {
    const last = this.lastIndex();
    if (myTerm === undefined || prevLogIndex > last) return last;
    // Skip back over the whole conflicting term in one round trip.
    let i = prevLogIndex - 1;
    const floor = Math.max(this.commitIndex, this.snapshotIndex);
    while (i > floor && this.termAt(i) === myTerm) i--;
    return Math.max(i, floor);
  }

  private advanceFollowerCommit(leaderCommit: number, verifiedUpTo: number): void {
    const target = Math.min(leaderCommit, verifiedUpTo);
    if (target > this.commitIndex) {
      this.commitIndex = target;
      this.applyCommitted();
    }
  }

  private onAppendResponse(m: Msg<'append-response'>): void {
    if (this.role !== 'leader') return;
    const p = this.progress.get(m.from);
    if (p === undefined) return;
    p.lastContactMs = this.clock.now();
    if (m.seq > p.ackedSeq) p.ackedSeq = m.seq;
    if (m.success) {
      if (m.index > p.match) {
        p.match = m.index;
        this.maybeCommit();
      }
      if (p.next <= p.match) p.next = p.match + 1;
      while (p.inflight.length > 0 && p.inflight[0]! <= m.index) p.inflight.shift();
      if (p.state === 'probe') {
        p.state = 'replicate';
        p.probeSent = false;
        p.inflight = [];
      }
      if (this.transfer?.target === p.server.id) this.maybeSendTimeoutNow(p);
      this.advanceReads();
      this.sendAppend(p, false);
    } else {
      // A stale refusal (for something already acknowledged) says nothing new.
      if (m.index <= p.match) {
        this.advanceReads();
        return;
      }
      p.state = 'probe';
      p.probeSent = false;
      p.inflight = [];
      p.next = Math.max(p.match + 1, Math.min(m.index, m.hint + 1));
      this.advanceReads();
      this.sendAppend(p, false);
    }
  }

  private onInstallSnapshot(m: Msg<'install-snapshot'>): void {
    if (this.role !== 'follower' || this.leaderId !== m.from) this.becomeFollower(m.term, m.from);
    this.lastLeaderContactMs = this.clock.now();
    this.resetElectionTimer();
    const respond = (index: number): void =>
      this.transport.send(this.serverFor(m.from), {
        type: 'install-snapshot-response',
        term: this.term,
        from: this.id,
        success: true,
        index,
        seq: m.seq,
      });
    const meta = m.meta;
    if (meta.index <= this.commitIndex) {
      respond(this.commitIndex);
      return;
    }
    this.snapshots.save({ meta, data: m.data });
    if (this.termAt(meta.index) === meta.term && this.log.lastIndex() >= meta.index) {
      this.log.truncatePrefix(meta.index);
    } else {
      this.log.reset();
    }
    this.fsm.restore(m.data);
    this.snapshotIndex = meta.index;
    this.snapshotTerm = meta.term;
    this.commitIndex = this.appliedIndex = meta.index;
    this.appliedConfig = structuredClone(meta.configuration);
    this.appliedConfigIndex = meta.configurationIndex;
    this.recomputeLatestConfig();
    this.logger.info({ 'raft.index': meta.index }, 'installed snapshot from the leader');
    this.emit({ type: 'snapshot', index: meta.index, term: meta.term, source: 'leader' });
    respond(meta.index);
  }

  private onInstallSnapshotResponse(m: Msg<'install-snapshot-response'>): void {
    if (this.role !== 'leader') return;
    const p = this.progress.get(m.from);
    if (p === undefined) return;
    p.lastContactMs = this.clock.now();
    if (m.seq > p.ackedSeq) p.ackedSeq = m.seq;
    if (m.success && m.index > p.match) {
      p.match = m.index;
      this.maybeCommit();
    }
    p.next = Math.max(p.next, p.match + 1);
    p.state = 'probe';
    p.probeSent = false;
    p.inflight = [];
    this.advanceReads();
    this.sendAppend(p, false);
  }

  // ---------------------------------------------------------------------------- replication

  private enqueue(q: QueuedEntry<R>): void {
    this.queue.push(q);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.clock.defer(() =>
        this.guard(() => {
          this.flushScheduled = false;
          this.flush();
        }),
      );
    }
  }

  /** Appends every queued entry with one durable write, then replicates. */
  private flush(): void {
    if (this.queue.length === 0) return;
    const queued = this.queue;
    this.queue = [];
    if (this.role !== 'leader') {
      for (const q of queued) q.pending?.reject(this.notLeader());
      return;
    }
    let index = this.lastIndex();
    const entries: LogEntry[] = [];
    for (const q of queued) {
      index += 1;
      entries.push({ index, term: this.term, type: q.type, data: q.data });
      if (q.pending !== undefined) this.pending.set(index, q.pending);
    }
    // Followers write while we do: send first, fsync after. The leader counts itself towards
    // the quorum only in maybeCommit, after the sync, so nothing commits on an unsynced write.
    this.log.append(entries, { sync: false });
    for (const e of entries) {
      if (e.type === 'config') this.applyLatestConfigAsLeader(e);
    }
    for (const p of this.progress.values()) this.sendAppend(p, false);
    this.log.sync();
    this.maybeCommit();
  }

  private applyLatestConfigAsLeader(e: LogEntry): void {
    this.latestConfig = decodeConfiguration(e.data);
    this.latestConfigIndex = e.index;
    const now = this.clock.now();
    const ids = new Set(this.latestConfig.servers.map((s) => s.id));
    for (const id of [...this.progress.keys()]) if (!ids.has(id)) this.progress.delete(id);
    for (const s of this.latestConfig.servers) {
      if (s.id === this.id) continue;
      const p = this.progress.get(s.id);
      if (p === undefined) this.progress.set(s.id, this.newProgress(s, now));
      else p.server = s;
    }
    this.emit({ type: 'configuration', configuration: this.configuration(), index: e.index });
  }

  private broadcastHeartbeat(): void {
    this.seq += 1;
    for (const p of this.progress.values()) this.sendAppend(p, true);
  }

  /**
   * Sends what `p` is missing. In replicate state messages are pipelined up to the inflight
   * limit; a heartbeat goes out regardless so a lost message is noticed by a refusal.
   */
  private sendAppend(p: Progress, heartbeat: boolean): void {
    if (p.state === 'snapshot') {
      // A snapshot can be large: give the follower an election timeout to answer before resending.
      if (!heartbeat) return;
      if (this.clock.now() - p.snapshotSentMs < this.config.electionTimeoutMs) return;
      p.state = 'probe';
    }
    if (p.state === 'probe' && p.probeSent && !heartbeat) return;
    const last = this.lastIndex();
    if (p.state === 'replicate' && !heartbeat) {
      if (p.next > last || p.inflight.length >= this.config.maxInflightAppends) return;
    }
    const prevLogIndex = p.next - 1;
    const prevLogTerm = this.termAt(prevLogIndex);
    if (prevLogTerm === undefined || (p.next <= last && this.log.get(p.next) === undefined)) {
      this.sendSnapshot(p);
      return;
    }
    const entries: LogEntry[] = [];
    const withEntries = p.state === 'probe' || !heartbeat;
    if (withEntries) {
      let bytes = 0;
      for (let i = p.next; i <= last && entries.length < this.config.maxAppendEntries; i++) {
        const e = this.log.get(i);
        if (e === undefined) break;
        if (entries.length > 0 && bytes + e.data.length > this.config.maxAppendBytes) break;
        bytes += e.data.length;
        entries.push(e);
      }
    }
    this.transport.send(p.server, {
      type: 'append',
      term: this.term,
      from: this.id,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: this.commitIndex,
      seq: this.seq,
    });
    if (p.state === 'probe') {
      p.probeSent = true;
    } else if (entries.length > 0) {
      p.next = entries[entries.length - 1]!.index + 1;
      p.inflight.push(p.next - 1);
    }
    // Keep filling the pipe while there is room and more to send.
    if (p.state === 'replicate' && !heartbeat && p.next <= last) this.sendAppend(p, false);
  }

  private sendSnapshot(p: Progress): void {
    const snap = this.snapshots.latest();
    if (snap === undefined) {
      throw new Error(
        `raft: follower ${p.server.id} needs entries that were compacted, but there is no snapshot`,
      );
    }
    p.state = 'snapshot';
    p.inflight = [];
    p.snapshotSentMs = this.clock.now();
    this.logger.info(
      { 'raft.peer': p.server.id, 'raft.index': snap.meta.index },
      'sending snapshot',
    );
    this.transport.send(p.server, {
      type: 'install-snapshot',
      term: this.term,
      from: this.id,
      meta: snap.meta,
      data: snap.data,
      seq: this.seq,
    });
  }

  private maybeCommit(): void {
    if (this.role !== 'leader') return;
    const matches: number[] = [];
    if (this.isVoter(this.id)) matches.push(this.lastIndex());
    for (const p of this.progress.values())
      if (p.server.suffrage === 'voter') matches.push(p.match);
    matches.sort((a, b) => b - a);
    const n = matches[this.quorumSize() - 1];
    if (n === undefined || n <= this.commitIndex) return;
    // Entries of earlier terms commit only indirectly (Raft §5.4.2).
    if (this.termAt(n) !== this.term) return;
    this.commitIndex = n;
    this.applyCommitted();
    this.advanceReads();
    this.scheduleCommitBroadcast();
  }

  private scheduleCommitBroadcast(): void {
    if (this.commitBroadcastScheduled) return;
    this.commitBroadcastScheduled = true;
    // Followers learn the commit index a little late rather than once per commit: under load
    // this halves the leader's messages, and no client waits on a follower applying.
    this.clock.setTimeout(
      () =>
        this.guard(() => {
          this.commitBroadcastScheduled = false;
          if (this.role !== 'leader') return;
          for (const p of this.progress.values()) {
            if (p.state === 'replicate' && p.next > this.lastIndex()) this.sendAppend(p, true);
          }
        }),
      Math.max(1, Math.floor(this.config.heartbeatIntervalMs / 20)),
    );
  }

  private applyCommitted(): void {
    while (this.appliedIndex < this.commitIndex) {
      const index = this.appliedIndex + 1;
      const e = this.log.get(index);
      if (e === undefined)
        throw new Error(`raft: committed entry ${index} is missing from the log`);
      let result: R | undefined;
      if (e.type === 'command') {
        result = this.fsm.apply({ index: e.index, term: e.term, data: e.data });
      } else if (e.type === 'config') {
        this.appliedConfig = decodeConfiguration(e.data);
        this.appliedConfigIndex = e.index;
      }
      this.appliedIndex = index;
      const p = this.pending.get(index);
      if (p !== undefined) {
        this.pending.delete(index);
        if (p.term === e.term) p.resolve(result as R);
        else p.reject(new LeadershipLostError());
      }
      if (e.type === 'config' && this.role === 'leader' && !this.isVoter(this.id)) {
        // Removed (or demoted) and the change is committed: let the others elect a leader.
        this.becomeFollower(this.term, null);
      }
    }
    const threshold = this.config.snapshotThreshold;
    if (threshold > 0 && this.appliedIndex - this.snapshotIndex >= threshold) this.takeSnapshot();
  }

  private takeSnapshot(): SnapshotMeta {
    const index = this.appliedIndex;
    if (index === 0) throw conflict('raft: nothing applied yet, so there is nothing to snapshot');
    const term = this.termAt(index);
    if (term === undefined) throw new Error(`raft: no term known for applied index ${index}`);
    const meta: SnapshotMeta = {
      index,
      term,
      configuration: structuredClone(this.appliedConfig),
      configurationIndex: this.appliedConfigIndex,
    };
    if (index > this.snapshotIndex) {
      this.snapshots.save({ meta, data: this.fsm.snapshot() });
      this.snapshotIndex = index;
      this.snapshotTerm = term;
      const upTo = index - this.config.trailingLogs;
      if (upTo >= this.log.firstIndex() && upTo > 0) this.log.truncatePrefix(upTo);
      this.emit({ type: 'snapshot', index, term, source: 'local' });
    }
    return meta;
  }

  // ---------------------------------------------------------------------------- reads

  private advanceReads(): void {
    if (this.reads.length === 0 || this.role !== 'leader') return;
    // A new leader does not know the commit index until an entry of its own term commits.
    if (this.commitIndex < this.leaderStartIndex) return;
    let needRound = false;
    for (const r of this.reads) {
      if (r.seq === 0) {
        r.index = this.commitIndex;
        needRound = true;
      }
    }
    if (needRound) {
      this.seq += 1;
      for (const r of this.reads) if (r.seq === 0) r.seq = this.seq;
      if (this.progress.size > 0) for (const p of this.progress.values()) this.sendAppend(p, true);
    }
    const voters = [...this.progress.values()].filter((p) => p.server.suffrage === 'voter');
    const self = this.isVoter(this.id) ? 1 : 0;
    const q = this.quorumSize();
    const still: PendingRead[] = [];
    for (const r of this.reads) {
      if (!r.confirmed) {
        const acks = self + voters.filter((p) => p.ackedSeq >= r.seq).length;
        r.confirmed = acks >= q;
      }
      if (r.confirmed && this.appliedIndex >= r.index) r.resolve(r.index);
      else still.push(r);
    }
    this.reads = still;
  }

  // ---------------------------------------------------------------------------- membership

  private changeConfiguration(change: (servers: Server[]) => Server[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const refusal = this.refuseWrite();
      if (refusal !== null) return reject(refusal);
      // One change at a time, and only once this leader has committed in its term: otherwise two
      // overlapping single-server changes could produce disjoint majorities.
      if (
        this.latestConfigIndex > this.commitIndex ||
        this.commitIndex < this.leaderStartIndex ||
        this.queue.some((q) => q.type === 'config')
      ) {
        return reject(
          conflict('raft: a configuration change is already in progress; retry when it commits'),
        );
      }
      let servers: Server[];
      try {
        servers = change(structuredClone(this.latestConfig.servers));
        checkConfiguration({ servers });
      } catch (e) {
        return reject(e as Error);
      }
      this.enqueue({
        type: 'config',
        data: encodeConfiguration({ servers }),
        pending: { term: this.term, resolve: () => resolve(), reject },
      });
    });
  }

  private maybeSendTimeoutNow(p: Progress): void {
    const t = this.transfer;
    if (t === null || t.timeoutSent || t.target !== p.server.id) return;
    if (p.match >= this.lastIndex()) {
      t.timeoutSent = true;
      this.transport.send(p.server, { type: 'timeout-now', term: this.term, from: this.id });
    } else {
      this.sendAppend(p, false);
    }
  }

  private abortTransfer(e: Error): void {
    const t = this.transfer;
    if (t === null) return;
    this.transfer = null;
    this.clock.clearTimeout(t.timer);
    t.reject(e);
  }
}

function checkConfiguration(c: Configuration): void {
  const seen = new Set<string>();
  for (const s of c.servers) {
    if (typeof s.id !== 'string' || s.id.length === 0) {
      throw invalidArgument('raft configuration: a server has an empty id');
    }
    if (seen.has(s.id)) throw invalidArgument(`raft configuration: server ${s.id} appears twice`);
    seen.add(s.id);
    if (typeof s.address !== 'string' || s.address.length === 0) {
      throw invalidArgument(`raft configuration: server ${s.id} has an empty address`);
    }
    if (s.suffrage !== 'voter' && s.suffrage !== 'nonvoter') {
      throw invalidArgument(
        `raft configuration: server ${s.id} has suffrage ${String(s.suffrage)}`,
      );
    }
  }
  if (!c.servers.some((s) => s.suffrage === 'voter')) {
    throw invalidArgument('raft configuration: at least one voter is required');
  }
}
