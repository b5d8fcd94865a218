import { taskStateOrder, type Task } from '../../api/index.js';
import type { OrchestratorAction } from './actions.js';
import { byAge, isLive } from './task-facts.js';

export interface ReaperInput {
  tasks: readonly Task[];
  /** IDs of services that still exist. */
  serviceIds: ReadonlySet<string>;
  /** Cluster's Orchestration.TaskHistoryRetentionLimit; negative keeps everything. */
  historyLimit: number;
}

/** Not wanted and not running: finished, or never got as far as a node. */
function isReapable(t: Task): boolean {
  if (isLive(t)) return false;
  const o = taskStateOrder(t.Status.State);
  return o > taskStateOrder('running') || o < taskStateOrder('assigned');
}

/**
 * Swarmkit's task reaper as a pure function: tasks marked `remove` (scale down, service
 * removal) go once they stopped; tasks of deleted services go; each slot (or node, for global
 * services) keeps at most `historyLimit` tasks, dropping the oldest finished ones first.
 */
export function tasksToReap(input: ReaperInput): OrchestratorAction[] {
  const out: OrchestratorAction[] = [];
  const gone = new Set<string>();
  const groups = new Map<string, Task[]>();
  for (const t of input.tasks) {
    if (isReapable(t) && (t.DesiredState === 'remove' || !input.serviceIds.has(t.ServiceID))) {
      out.push({
        type: 'delete-task',
        taskId: t.ID,
        reason: t.DesiredState === 'remove' ? 'removed' : 'service deleted',
      });
      gone.add(t.ID);
      continue;
    }
    const key = `${t.ServiceID}/${t.Slot > 0 ? `s${t.Slot}` : `n${t.NodeID}`}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(t);
  }
  if (input.historyLimit < 0) return out;
  for (const key of [...groups.keys()].sort()) {
    const g = (groups.get(key) ?? []).sort(byAge);
    let excess = g.length - input.historyLimit;
    for (const t of g) {
      if (excess <= 0) break;
      if (!isReapable(t)) continue;
      out.push({
        type: 'delete-task',
        taskId: t.ID,
        reason: `task history limit ${input.historyLimit}`,
      });
      excess--;
    }
  }
  return out;
}
