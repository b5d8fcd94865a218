import type { ClusterSpec } from '../cluster.js';
import { SpecErrors, type SpecError } from './spec-error.js';

export function validateClusterSpec(spec: ClusterSpec): SpecError[] {
  const e = new SpecErrors();
  if (!spec.Name) e.add('Name', 'the cluster needs a name');
  e.labels('Labels', spec.Labels);
  const limit = spec.Orchestration?.TaskHistoryRetentionLimit;
  // Negative keeps every old task, as in swarmkit; anything else must be a whole count.
  if (limit === undefined || !Number.isSafeInteger(limit)) {
    e.add('Orchestration.TaskHistoryRetentionLimit', `must be an integer, got ${limit}`);
  }
  e.positiveInt('Dispatcher.HeartbeatPeriod', spec.Dispatcher?.HeartbeatPeriod);
  if (spec.Dispatcher?.HeartbeatPeriod === undefined) {
    e.add('Dispatcher.HeartbeatPeriod', 'is required');
  }
  e.positiveInt('Raft.SnapshotInterval', spec.Raft?.SnapshotInterval);
  e.nonNegativeInt('Raft.KeepOldSnapshots', spec.Raft?.KeepOldSnapshots);
  e.nonNegativeInt('Raft.LogEntriesForSlowFollowers', spec.Raft?.LogEntriesForSlowFollowers);
  e.positiveInt('Raft.ElectionTick', spec.Raft?.ElectionTick);
  e.positiveInt('Raft.HeartbeatTick', spec.Raft?.HeartbeatTick);
  if (spec.Raft && spec.Raft.ElectionTick <= spec.Raft.HeartbeatTick) {
    e.add('Raft.ElectionTick', 'must be greater than Raft.HeartbeatTick');
  }
  // Under an hour the node certificates would churn faster than rotation can follow.
  const expiry = spec.CAConfig?.NodeCertExpiry;
  if (expiry === undefined || !Number.isSafeInteger(expiry) || expiry < 3600 * 1_000_000_000) {
    e.add('CAConfig.NodeCertExpiry', 'must be at least 1 hour');
  }
  return e.list;
}
