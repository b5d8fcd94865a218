import { LeadershipLostError } from './errors.js';
import type { Msg, RaftState } from './raft-state.js';
import type { Replication } from './replication.js';
import type { TimerHandle } from './types.js';

const emptyData = new Uint8Array(0);

/**
 * Roles and terms: election timeouts, (pre-)vote campaigns, granting votes, becoming leader or
 * follower, and the leader's timers (heartbeats, check-quorum). Leases and pre-vote keep a
 * server that was cut off from deposing a healthy leader when it returns.
 */
export class Election<R> {
  private preCandidate = false;
  private votes = new Set<string>();
  private lastLeaderContactMs = -Infinity;
  private electionTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private quorumTimer: TimerHandle | undefined;

  constructor(
    private readonly state: RaftState<R>,
    private readonly replication: Replication<R>,
  ) {}

  clearTimers(): void {
    const s = this.state;
    for (const t of [this.electionTimer, this.heartbeatTimer, this.quorumTimer]) {
      if (t !== undefined) s.clock.clearTimeout(t);
    }
    this.electionTimer = this.heartbeatTimer = this.quorumTimer = undefined;
  }

  resetElectionTimer(): void {
    const s = this.state;
    s.transport.prepare?.(s.latestConfig.servers);
    if (this.electionTimer !== undefined) s.clock.clearTimeout(this.electionTimer);
    // [T, 1.5·T): wide enough that two followers rarely time out within one round trip of each
    // other, narrow enough that a dead leader is replaced well within 2 s at the default T.
    const ms = s.config.electionTimeoutMs * (1 + s.random() / 2);
    this.electionTimer = s.clock.setTimeout(() => s.guard(() => this.onElectionTimeout()), ms);
  }

  becomeFollower(term: number, leaderId: string | null): void {
    const s = this.state;
    const wasLeader = s.role === 'leader';
    if (term > s.term) {
      s.term = term;
      s.votedFor = null;
      s.saveHardState();
    }
    s.role = 'follower';
    this.preCandidate = false;
    const leaderChanged = s.leaderId !== leaderId;
    s.leaderId = leaderId;
    if (this.heartbeatTimer !== undefined) s.clock.clearTimeout(this.heartbeatTimer);
    if (this.quorumTimer !== undefined) s.clock.clearTimeout(this.quorumTimer);
    this.heartbeatTimer = this.quorumTimer = undefined;
    this.resetElectionTimer();
    if (wasLeader) {
      s.progress.clear();
      const lost = new LeadershipLostError();
      const pending = [...s.pending.values()];
      s.pending.clear();
      for (const p of pending) p.reject(lost);
      const queued = s.queue;
      s.queue = [];
      for (const q of queued) q.pending?.reject(s.notLeader());
      const reads = s.reads;
      s.reads = [];
      for (const r of reads) r.reject(lost);
      if (s.transfer !== null) {
        const t = s.transfer;
        s.transfer = null;
        s.clock.clearTimeout(t.timer);
        t.resolve();
      }
      s.logger.info({ 'raft.term': s.term }, 'stepped down');
    }
    if (wasLeader || leaderChanged) {
      s.emit({ type: 'leadership', isLeader: false, term: s.term, leaderId });
    }
  }

  /** On AppendEntries or InstallSnapshot: follow its sender and hold off campaigning. */
  followLeader(term: number, leaderId: string): void {
    const s = this.state;
    if (s.role !== 'follower' || s.leaderId !== leaderId) this.becomeFollower(term, leaderId);
    this.lastLeaderContactMs = s.clock.now();
    this.resetElectionTimer();
  }

  private onElectionTimeout(): void {
    const s = this.state;
    this.electionTimer = undefined;
    if (s.role === 'leader') return;
    if (!s.isVoter(s.id)) {
      this.resetElectionTimer();
      return;
    }
    if (s.config.preVote) this.campaign(true, false);
    else this.campaign(false, false);
  }

  private campaign(preVote: boolean, transfer: boolean): void {
    const s = this.state;
    const wasLeaderKnown = s.leaderId !== null;
    s.role = 'candidate';
    this.preCandidate = preVote;
    s.leaderId = null;
    if (!preVote) {
      s.term += 1;
      s.votedFor = s.id;
      s.saveHardState();
    }
    if (wasLeaderKnown)
      s.emit({ type: 'leadership', isLeader: false, term: s.term, leaderId: null });
    this.votes = new Set([s.id]);
    this.resetElectionTimer();
    s.logger.debug({ 'raft.term': s.term, 'raft.preVote': preVote }, 'campaigning');
    if (this.votes.size >= s.quorumSize()) {
      this.onVoteQuorum();
      return;
    }
    const lastLogIndex = s.lastIndex();
    const lastLogTerm = s.termAt(lastLogIndex) ?? 0;
    for (const server of s.latestConfig.servers) {
      if (server.id === s.id || server.suffrage !== 'voter') continue;
      s.transport.send(server, {
        type: 'vote',
        term: preVote ? s.term + 1 : s.term,
        from: s.id,
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
    const s = this.state;
    s.role = 'leader';
    this.preCandidate = false;
    s.leaderId = s.id;
    if (this.electionTimer !== undefined) s.clock.clearTimeout(this.electionTimer);
    this.electionTimer = undefined;
    s.progress.clear();
    const now = s.clock.now();
    for (const server of s.latestConfig.servers) {
      if (server.id === s.id) continue;
      s.progress.set(server.id, this.replication.newProgress(server, now));
    }
    s.logger.info({ 'raft.term': s.term }, 'became leader');
    s.emit({ type: 'leadership', isLeader: true, term: s.term, leaderId: s.id });
    s.leaderStartIndex = s.lastIndex() + 1;
    this.replication.enqueue({ type: 'noop', data: emptyData, pending: undefined });
    this.replication.flush();
    this.scheduleHeartbeat();
    this.scheduleQuorumCheck();
  }

  private scheduleHeartbeat(): void {
    const s = this.state;
    this.heartbeatTimer = s.clock.setTimeout(
      () =>
        s.guard(() => {
          if (s.role !== 'leader') return;
          this.replication.broadcastHeartbeat();
          this.scheduleHeartbeat();
        }),
      s.config.heartbeatIntervalMs,
    );
  }

  private scheduleQuorumCheck(): void {
    const s = this.state;
    this.quorumTimer = s.clock.setTimeout(
      () =>
        s.guard(() => {
          if (s.role !== 'leader') return;
          if (s.config.checkQuorum && !this.hasRecentQuorum()) {
            s.logger.warn({ 'raft.term': s.term }, 'lost contact with a quorum; stepping down');
            this.becomeFollower(s.term, null);
            return;
          }
          this.scheduleQuorumCheck();
        }),
      s.config.electionTimeoutMs,
    );
  }

  private hasRecentQuorum(): boolean {
    const s = this.state;
    const since = s.clock.now() - s.config.electionTimeoutMs;
    let n = s.isVoter(s.id) ? 1 : 0;
    for (const p of s.progress.values()) {
      if (p.server.suffrage === 'voter' && p.lastContactMs >= since) n++;
    }
    return n >= s.quorumSize();
  }

  private inLease(): boolean {
    const s = this.state;
    if (!s.config.checkQuorum) return false;
    if (s.role === 'leader') return true;
    return (
      s.leaderId !== null && s.clock.now() - this.lastLeaderContactMs < s.config.electionTimeoutMs
    );
  }

  onVote(m: Msg<'vote'>): void {
    const s = this.state;
    const reply = (granted: boolean, term: number): void =>
      s.transport.send(s.serverFor(m.from), {
        type: 'vote-response',
        term,
        from: s.id,
        preVote: m.preVote,
        granted,
      });
    // A server that still hears from its leader ignores campaigns, so a node that was cut off
    // cannot depose a healthy leader when it returns.
    if (!m.transfer && this.inLease() && m.term > s.term) {
      reply(false, s.term);
      return;
    }
    const upToDate =
      m.lastLogTerm > (s.termAt(s.lastIndex()) ?? 0) ||
      (m.lastLogTerm === (s.termAt(s.lastIndex()) ?? 0) && m.lastLogIndex >= s.lastIndex());
    if (m.preVote) {
      reply(m.term > s.term && upToDate, m.term > s.term && upToDate ? m.term : s.term);
      return;
    }
    if (m.term > s.term) this.becomeFollower(m.term, null);
    if (m.term < s.term) {
      reply(false, s.term);
      return;
    }
    const canVote = s.votedFor === null || s.votedFor === m.from;
    if (canVote && upToDate && s.role !== 'leader') {
      s.votedFor = m.from;
      s.saveHardState();
      this.resetElectionTimer();
      reply(true, s.term);
    } else {
      reply(false, s.term);
    }
  }

  onVoteResponse(m: Msg<'vote-response'>): void {
    const s = this.state;
    if (s.role !== 'candidate' || m.preVote !== this.preCandidate) return;
    if (!s.isVoter(m.from) || !m.granted) return;
    this.votes.add(m.from);
    if (this.votes.size >= s.quorumSize()) this.onVoteQuorum();
  }

  /** The leader is handing over leadership to this server: campaign without waiting. */
  onTimeoutNow(): void {
    const s = this.state;
    if (s.role !== 'leader' && s.isVoter(s.id)) {
      s.logger.info({ 'raft.term': s.term }, 'campaigning at once on request of the leader');
      this.campaign(false, true);
    }
  }
}
