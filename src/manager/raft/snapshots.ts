import { conflict } from '../../api/errors.js';
import type { FollowLeader, Msg, RaftState } from './raft-state.js';
import type { SnapshotMeta } from './types.js';

/**
 * Snapshots of the FSM: taking one and compacting the log behind it, and installing one sent by
 * the leader. Sending one to a follower is part of replication.
 */
export class Snapshots<R> {
  constructor(
    private readonly state: RaftState<R>,
    private readonly followLeader: FollowLeader,
  ) {}

  take(): SnapshotMeta {
    const s = this.state;
    const index = s.appliedIndex;
    if (index === 0) throw conflict('raft: nothing applied yet, so there is nothing to snapshot');
    const term = s.termAt(index);
    if (term === undefined) throw new Error(`raft: no term known for applied index ${index}`);
    const meta: SnapshotMeta = {
      index,
      term,
      configuration: structuredClone(s.appliedConfig),
      configurationIndex: s.appliedConfigIndex,
    };
    if (index > s.snapshotIndex) {
      s.snapshots.save({ meta, data: s.fsm.snapshot() });
      s.snapshotIndex = index;
      s.snapshotTerm = term;
      const upTo = index - s.config.trailingLogs;
      if (upTo >= s.log.firstIndex() && upTo > 0) s.log.truncatePrefix(upTo);
      s.emit({ type: 'snapshot', index, term, source: 'local' });
    }
    return meta;
  }

  onInstallSnapshot(m: Msg<'install-snapshot'>): void {
    const s = this.state;
    this.followLeader(m.term, m.from);
    const respond = (index: number): void =>
      s.transport.send(s.serverFor(m.from), {
        type: 'install-snapshot-response',
        term: s.term,
        from: s.id,
        success: true,
        index,
        seq: m.seq,
      });
    const meta = m.meta;
    if (meta.index <= s.commitIndex) {
      respond(s.commitIndex);
      return;
    }
    s.snapshots.save({ meta, data: m.data });
    if (s.termAt(meta.index) === meta.term && s.log.lastIndex() >= meta.index) {
      s.log.truncatePrefix(meta.index);
    } else {
      s.log.reset();
    }
    s.fsm.restore(m.data);
    s.snapshotIndex = meta.index;
    s.snapshotTerm = meta.term;
    s.commitIndex = s.appliedIndex = meta.index;
    s.appliedConfig = structuredClone(meta.configuration);
    s.appliedConfigIndex = meta.configurationIndex;
    s.recomputeLatestConfig();
    s.logger.info({ 'raft.index': meta.index }, 'installed snapshot from the leader');
    s.emit({ type: 'snapshot', index: meta.index, term: meta.term, source: 'leader' });
    respond(meta.index);
  }
}
