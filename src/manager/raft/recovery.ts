import { ErrorCode, TsswarmError, invalidArgument } from '../../api/errors.js';
import { checkConfiguration, encodeConfiguration } from './configuration.js';
import type { RaftState } from './raft-state.js';
import type { Configuration, Server } from './types.js';

/**
 * Loads the durable state into `s` at construction: term and vote, the latest snapshot
 * (restored into the FSM), the latest configuration; bootstraps empty stores, or forces a new
 * cluster when asked to.
 */
export function recover<R>(
  s: RaftState<R>,
  bootstrap: Configuration | undefined,
  forceNewCluster: { reason: string } | undefined,
): void {
  const hard = s.stable.load();
  s.term = hard.term;
  s.votedFor = hard.votedFor;
  const snap = s.snapshots.latest();
  if (snap !== undefined) {
    s.fsm.restore(snap.data);
    s.snapshotIndex = snap.meta.index;
    s.snapshotTerm = snap.meta.term;
    s.commitIndex = s.appliedIndex = snap.meta.index;
    s.appliedConfig = structuredClone(snap.meta.configuration);
    s.appliedConfigIndex = snap.meta.configurationIndex;
    const first = s.log.firstIndex();
    if (first !== 0 && first > s.snapshotIndex + 1) {
      throw new TsswarmError(
        ErrorCode.DataCorrupt,
        `raft: log starts at ${first} but the latest snapshot ends at ${s.snapshotIndex}: entries are missing`,
      );
    }
    if (s.log.lastIndex() !== 0 && s.log.lastIndex() < s.snapshotIndex) s.log.reset();
  } else if (s.log.firstIndex() > 1) {
    throw new TsswarmError(
      ErrorCode.DataCorrupt,
      `raft: log starts at ${s.log.firstIndex()} and there is no snapshot`,
    );
  }
  const empty = snap === undefined && s.log.lastIndex() === 0 && hard.term === 0;
  if (empty && bootstrap !== undefined) {
    checkConfiguration(bootstrap);
    if (!bootstrap.servers.some((server) => server.id === s.id)) {
      throw invalidArgument(`raft: bootstrap configuration does not contain this server (${s.id})`);
    }
    s.log.append([{ index: 1, term: 1, type: 'config', data: encodeConfiguration(bootstrap) }]);
    s.term = 1;
    s.stable.save({ term: 1, votedFor: null });
  }
  s.recomputeLatestConfig();
  if (forceNewCluster !== undefined) {
    if (bootstrap !== undefined) {
      throw invalidArgument('raft: forceNewCluster and bootstrap exclude each other');
    }
    forceSoleVoter(s, forceNewCluster.reason);
  }
}

/**
 * Appends a configuration entry naming only this server, in a term above any seen, as
 * etcd's --force-new-cluster does. Config entries take effect when appended, so the next
 * election needs only this vote; its no-op then commits everything the log holds.
 */
function forceSoleVoter<R>(s: RaftState<R>, reason: string): void {
  const last = s.lastIndex();
  if (last === 0) {
    throw invalidArgument('raft: forceNewCluster needs existing state; this server has none');
  }
  const lastTerm = s.termAt(last) ?? s.snapshotTerm;
  const term = Math.max(s.term, lastTerm) + 1;
  const self: Server = { id: s.id, address: s.transport.localAddress, suffrage: 'voter' };
  const dropped = s.latestConfig.servers
    .filter((server) => server.id !== s.id)
    .map((server) => server.id);
  s.stable.save({ term, votedFor: null });
  s.term = term;
  s.votedFor = null;
  s.log.append([
    { index: last + 1, term, type: 'config', data: encodeConfiguration({ servers: [self] }) },
  ]);
  s.recomputeLatestConfig();
  s.logger.warn(
    { 'raft.term': term, 'raft.index': last + 1, 'raft.removed': dropped, reason },
    'forced a new cluster: this server is the only voter',
  );
}
