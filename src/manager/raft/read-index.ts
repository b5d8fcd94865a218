import { RaftStoppedError } from './errors.js';
import type { PendingRead, RaftState, SendAppend } from './raft-state.js';

/**
 * Linearizable reads by read index: a read waits until this leader has committed in its term,
 * notes the commit index, confirms leadership with a heartbeat round a quorum acknowledges, and
 * resolves once the FSM has applied up to the noted index.
 */
export class ReadIndex<R> {
  constructor(
    private readonly state: RaftState<R>,
    private readonly sendAppend: SendAppend,
  ) {}

  /**
   * Resolves once this server has confirmed it is still the leader after the call and has
   * applied everything committed before it: a read of the FSM afterwards is linearizable.
   */
  barrier(): Promise<number> {
    const s = this.state;
    return new Promise<number>((resolve, reject) => {
      if (s.stopped) return reject(new RaftStoppedError(s.fatal ?? undefined));
      if (s.role !== 'leader') return reject(s.notLeader());
      s.reads.push({ index: 0, seq: 0, confirmed: false, resolve, reject });
      this.advance();
    });
  }

  advance(): void {
    const s = this.state;
    if (s.reads.length === 0 || s.role !== 'leader') return;
    // A new leader does not know the commit index until an entry of its own term commits.
    if (s.commitIndex < s.leaderStartIndex) return;
    let needRound = false;
    for (const r of s.reads) {
      if (r.seq === 0) {
        r.index = s.commitIndex;
        needRound = true;
      }
    }
    if (needRound) {
      s.seq += 1;
      for (const r of s.reads) if (r.seq === 0) r.seq = s.seq;
      if (s.progress.size > 0) for (const p of s.progress.values()) this.sendAppend(p, true);
    }
    const voters = [...s.progress.values()].filter((p) => p.server.suffrage === 'voter');
    const self = s.isVoter(s.id) ? 1 : 0;
    const q = s.quorumSize();
    const still: PendingRead[] = [];
    for (const r of s.reads) {
      if (!r.confirmed) {
        const acks = self + voters.filter((p) => p.ackedSeq >= r.seq).length;
        r.confirmed = acks >= q;
      }
      if (r.confirmed && s.appliedIndex >= r.index) r.resolve(r.index);
      else still.push(r);
    }
    s.reads = still;
  }
}
