import { decodeConfiguration } from './configuration.js';
import { LeadershipLostError } from './errors.js';
import type { BecomeFollower, RaftState, SendAppend } from './raft-state.js';
import type { ReadIndex } from './read-index.js';
import type { Snapshots } from './snapshots.js';

/**
 * The commit index and what follows from it: a leader commits what a quorum has matched (own
 * term only), a follower takes the leader's, and every server applies committed entries to the
 * FSM in order, resolves the proposals waiting on them, and snapshots past the threshold.
 */
export class Commitment<R> {
  private commitBroadcastScheduled = false;

  constructor(
    private readonly state: RaftState<R>,
    private readonly snapshots: Snapshots<R>,
    private readonly readIndex: ReadIndex<R>,
    private readonly sendAppend: SendAppend,
    private readonly becomeFollower: BecomeFollower,
  ) {}

  maybeCommit(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    const matches: number[] = [];
    if (s.isVoter(s.id)) matches.push(s.lastIndex());
    for (const p of s.progress.values()) if (p.server.suffrage === 'voter') matches.push(p.match);
    matches.sort((a, b) => b - a);
    const n = matches[s.quorumSize() - 1];
    if (n === undefined || n <= s.commitIndex) return;
    // Entries of earlier terms commit only indirectly (Raft §5.4.2).
    if (s.termAt(n) !== s.term) return;
    s.commitIndex = n;
    this.applyCommitted();
    this.readIndex.advance();
    this.scheduleCommitBroadcast();
  }

  advanceFollowerCommit(leaderCommit: number, verifiedUpTo: number): void {
    const s = this.state;
    const target = Math.min(leaderCommit, verifiedUpTo);
    if (target > s.commitIndex) {
      s.commitIndex = target;
      this.applyCommitted();
    }
  }

  private scheduleCommitBroadcast(): void {
    const s = this.state;
    if (this.commitBroadcastScheduled) return;
    this.commitBroadcastScheduled = true;
    // Followers learn the commit index a little late rather than once per commit: under load
    // this halves the leader's messages, and no client waits on a follower applying.
    s.clock.setTimeout(
      () =>
        s.guard(() => {
          this.commitBroadcastScheduled = false;
          if (s.role !== 'leader') return;
          for (const p of s.progress.values()) {
            if (p.state === 'replicate' && p.next > s.lastIndex()) this.sendAppend(p, true);
          }
        }),
      Math.max(1, Math.floor(s.config.heartbeatIntervalMs / 20)),
    );
  }

  private applyCommitted(): void {
    const s = this.state;
    while (s.appliedIndex < s.commitIndex) {
      const index = s.appliedIndex + 1;
      const e = s.log.get(index);
      if (e === undefined)
        throw new Error(`raft: committed entry ${index} is missing from the log`);
      let result: R | undefined;
      if (e.type === 'command') {
        result = s.fsm.apply({ index: e.index, term: e.term, data: e.data });
      } else if (e.type === 'config') {
        s.appliedConfig = decodeConfiguration(e.data);
        s.appliedConfigIndex = e.index;
      }
      s.appliedIndex = index;
      const p = s.pending.get(index);
      if (p !== undefined) {
        s.pending.delete(index);
        if (p.term === e.term) p.resolve(result as R);
        else p.reject(new LeadershipLostError());
      }
      if (e.type === 'config' && s.role === 'leader' && !s.isVoter(s.id)) {
        // Removed (or demoted) and the change is committed: let the others elect a leader.
        this.becomeFollower(s.term, null);
      }
    }
    const threshold = s.config.snapshotThreshold;
    if (threshold > 0 && s.appliedIndex - s.snapshotIndex >= threshold) this.snapshots.take();
  }
}
