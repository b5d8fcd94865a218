import { ErrorCode, TsswarmError } from '../../api/errors.js';
import type { Commitment } from './commitment.js';
import { decodeConfiguration } from './configuration.js';
import type { LeadershipTransfer } from './leadership-transfer.js';
import type { FollowLeader, Msg, Progress, QueuedEntry, RaftState } from './raft-state.js';
import type { ReadIndex } from './read-index.js';
import type { LogEntry, Server } from './types.js';

/**
 * Log replication. On the leader: proposals are queued and appended with one durable write per
 * event loop turn, then sent to each follower (probing for the match point, then pipelined up
 * to the inflight limit, or a snapshot when the entries are compacted); responses move each
 * follower's match index. On a follower: AppendEntries are checked against the log, conflicts
 * truncated and new entries appended.
 */
export class Replication<R> {
  private flushScheduled = false;

  constructor(
    private readonly state: RaftState<R>,
    private readonly commitment: Commitment<R>,
    private readonly readIndex: ReadIndex<R>,
    private readonly transfer: LeadershipTransfer<R>,
    private readonly followLeader: FollowLeader,
  ) {}

  newProgress(server: Server, now: number): Progress {
    return {
      server,
      next: this.state.lastIndex() + 1,
      match: 0,
      state: 'probe',
      probeSent: false,
      inflight: [],
      lastContactMs: now,
      ackedSeq: 0,
      snapshotSentMs: 0,
    };
  }

  enqueue(q: QueuedEntry<R>): void {
    const s = this.state;
    s.queue.push(q);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      s.clock.defer(() =>
        s.guard(() => {
          this.flushScheduled = false;
          this.flush();
        }),
      );
    }
  }

  /** Appends every queued entry with one durable write, then replicates. */
  flush(): void {
    const s = this.state;
    if (s.queue.length === 0) return;
    const queued = s.queue;
    s.queue = [];
    if (s.role !== 'leader') {
      for (const q of queued) q.pending?.reject(s.notLeader());
      return;
    }
    let index = s.lastIndex();
    const entries: LogEntry[] = [];
    for (const q of queued) {
      index += 1;
      entries.push({ index, term: s.term, type: q.type, data: q.data });
      if (q.pending !== undefined) s.pending.set(index, q.pending);
    }
    // Followers write while we do: send first, fsync after. The leader counts itself towards
    // the quorum only in maybeCommit, after the sync, so nothing commits on an unsynced write.
    s.log.append(entries, { sync: false });
    for (const e of entries) {
      if (e.type === 'config') this.applyLatestConfigAsLeader(e);
    }
    for (const p of s.progress.values()) this.sendAppend(p, false);
    s.log.sync();
    this.commitment.maybeCommit();
  }

  private applyLatestConfigAsLeader(e: LogEntry): void {
    const s = this.state;
    s.latestConfig = decodeConfiguration(e.data);
    s.latestConfigIndex = e.index;
    const now = s.clock.now();
    const ids = new Set(s.latestConfig.servers.map((server) => server.id));
    for (const id of [...s.progress.keys()]) if (!ids.has(id)) s.progress.delete(id);
    for (const server of s.latestConfig.servers) {
      if (server.id === s.id) continue;
      const p = s.progress.get(server.id);
      if (p === undefined) s.progress.set(server.id, this.newProgress(server, now));
      else p.server = server;
    }
    s.emit({ type: 'configuration', configuration: s.configuration(), index: e.index });
  }

  broadcastHeartbeat(): void {
    const s = this.state;
    s.seq += 1;
    for (const p of s.progress.values()) this.sendAppend(p, true);
  }

  /**
   * Sends what `p` is missing. In replicate state messages are pipelined up to the inflight
   * limit; a heartbeat goes out regardless so a lost message is noticed by a refusal.
   */
  sendAppend(p: Progress, heartbeat: boolean): void {
    const s = this.state;
    if (p.state === 'snapshot') {
      // A snapshot can be large: give the follower an election timeout to answer before resending.
      if (!heartbeat) return;
      if (s.clock.now() - p.snapshotSentMs < s.config.electionTimeoutMs) return;
      p.state = 'probe';
    }
    if (p.state === 'probe' && p.probeSent && !heartbeat) return;
    const last = s.lastIndex();
    if (p.state === 'replicate' && !heartbeat) {
      if (p.next > last || p.inflight.length >= s.config.maxInflightAppends) return;
    }
    const prevLogIndex = p.next - 1;
    const prevLogTerm = s.termAt(prevLogIndex);
    if (prevLogTerm === undefined || (p.next <= last && s.log.get(p.next) === undefined)) {
      this.sendSnapshot(p);
      return;
    }
    const entries: LogEntry[] = [];
    const withEntries = p.state === 'probe' || !heartbeat;
    if (withEntries) {
      let bytes = 0;
      for (let i = p.next; i <= last && entries.length < s.config.maxAppendEntries; i++) {
        const e = s.log.get(i);
        if (e === undefined) break;
        if (entries.length > 0 && bytes + e.data.length > s.config.maxAppendBytes) break;
        bytes += e.data.length;
        entries.push(e);
      }
    }
    s.transport.send(p.server, {
      type: 'append',
      term: s.term,
      from: s.id,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: s.commitIndex,
      seq: s.seq,
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
    const s = this.state;
    const snap = s.snapshots.latest();
    if (snap === undefined) {
      throw new Error(
        `raft: follower ${p.server.id} needs entries that were compacted, but there is no snapshot`,
      );
    }
    p.state = 'snapshot';
    p.inflight = [];
    p.snapshotSentMs = s.clock.now();
    s.logger.info({ 'raft.peer': p.server.id, 'raft.index': snap.meta.index }, 'sending snapshot');
    s.transport.send(p.server, {
      type: 'install-snapshot',
      term: s.term,
      from: s.id,
      meta: snap.meta,
      data: snap.data,
      seq: s.seq,
    });
  }

  onAppend(m: Msg<'append'>): void {
    const s = this.state;
    this.followLeader(m.term, m.from);
    const respond = (success: boolean, index: number, hint: number): void =>
      s.transport.send(s.serverFor(m.from), {
        type: 'append-response',
        term: s.term,
        from: s.id,
        success,
        index,
        hint,
        seq: m.seq,
      });

    let prevLogIndex = m.prevLogIndex;
    let entries = m.entries;
    // Anything at or below our commit index is already known to match the leader.
    if (prevLogIndex < s.commitIndex) {
      const skip = Math.min(entries.length, s.commitIndex - prevLogIndex);
      entries = entries.slice(skip);
      if (entries.length === 0) {
        respond(true, Math.max(s.commitIndex, 0), 0);
        this.commitment.advanceFollowerCommit(m.leaderCommit, s.commitIndex);
        return;
      }
      prevLogIndex = s.commitIndex;
    } else {
      const t = s.termAt(prevLogIndex);
      if (t !== m.prevLogTerm) {
        respond(false, m.prevLogIndex, this.conflictHint(prevLogIndex, t));
        return;
      }
    }
    let appendFrom = -1;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const mine = s.termAt(e.index);
      if (mine === undefined || e.index > s.lastIndex()) {
        appendFrom = i;
        break;
      }
      if (mine !== e.term) {
        if (e.index <= s.commitIndex) {
          // Some server lost or altered entries it had acknowledged as durable.
          throw new TsswarmError(
            ErrorCode.DataCorrupt,
            `raft: leader ${m.from} contradicts committed entry ${e.index}`,
          );
        }
        s.log.truncateSuffix(e.index);
        if (s.latestConfigIndex >= e.index) s.recomputeLatestConfig();
        appendFrom = i;
        break;
      }
    }
    if (appendFrom >= 0) {
      const fresh = entries.slice(appendFrom);
      s.log.append(fresh);
      for (const e of fresh) {
        if (e.type === 'config') {
          s.latestConfig = decodeConfiguration(e.data);
          s.latestConfigIndex = e.index;
          s.emit({ type: 'configuration', configuration: s.configuration(), index: e.index });
        }
      }
    }
    const lastNew = prevLogIndex + entries.length;
    respond(true, lastNew, 0);
    this.commitment.advanceFollowerCommit(m.leaderCommit, lastNew);
  }

  private conflictHint(prevLogIndex: number, myTerm: number | undefined): number {
    const s = this.state;
    const last = s.lastIndex();
    if (myTerm === undefined || prevLogIndex > last) return last;
    // Skip back over the whole conflicting term in one round trip.
    let i = prevLogIndex - 1;
    const floor = Math.max(s.commitIndex, s.snapshotIndex);
    while (i > floor && s.termAt(i) === myTerm) i--;
    return Math.max(i, floor);
  }

  onAppendResponse(m: Msg<'append-response'>): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    const p = s.progress.get(m.from);
    if (p === undefined) return;
    p.lastContactMs = s.clock.now();
    if (m.seq > p.ackedSeq) p.ackedSeq = m.seq;
    if (m.success) {
      if (m.index > p.match) {
        p.match = m.index;
        this.commitment.maybeCommit();
      }
      if (p.next <= p.match) p.next = p.match + 1;
      while (p.inflight.length > 0 && p.inflight[0]! <= m.index) p.inflight.shift();
      if (p.state === 'probe') {
        p.state = 'replicate';
        p.probeSent = false;
        p.inflight = [];
      }
      if (s.transfer?.target === p.server.id) this.transfer.maybeSendTimeoutNow(p);
      this.readIndex.advance();
      this.sendAppend(p, false);
    } else {
      // A stale refusal (for something already acknowledged) says nothing new.
      if (m.index <= p.match) {
        this.readIndex.advance();
        return;
      }
      p.state = 'probe';
      p.probeSent = false;
      p.inflight = [];
      p.next = Math.max(p.match + 1, Math.min(m.index, m.hint + 1));
      this.readIndex.advance();
      this.sendAppend(p, false);
    }
  }

  onInstallSnapshotResponse(m: Msg<'install-snapshot-response'>): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    const p = s.progress.get(m.from);
    if (p === undefined) return;
    p.lastContactMs = s.clock.now();
    if (m.seq > p.ackedSeq) p.ackedSeq = m.seq;
    if (m.success && m.index > p.match) {
      p.match = m.index;
      this.commitment.maybeCommit();
    }
    p.next = Math.max(p.next, p.match + 1);
    p.state = 'probe';
    p.probeSent = false;
    p.inflight = [];
    this.readIndex.advance();
    this.sendAppend(p, false);
  }
}
