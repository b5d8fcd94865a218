import type { Node, RestartPolicy, Task } from '../../api/index.js';
import type { OrchestratorAction } from './actions.js';
import { decideRestart } from './restart.js';
import { byAge, hasExited, newest, nodeEvictionReason, parseTimeMs } from './task-facts.js';

/** What a task of the slot is meant to reach: `running` for services, `complete` for jobs. */
export type RunTarget = 'running' | 'complete';

/** What one slot (replicated) or one node (global) needs, before scaling is considered. */
export interface SlotPlan {
  /** The slot still holds a task, or ended for good (no restart allowed). */
  occupied: boolean;
  /** Desired-state changes for tasks of the slot. */
  changes: Map<string, OrchestratorAction & { type: 'set-desired-state' }>;
  /** The task to create to keep the slot going, if any. */
  replacement?: { desiredState: RunTarget | 'ready'; restartAtMs?: number; reason: string };
  wakeMs?: number;
}

/**
 * The shared per-slot rules: tasks on drained, down or removed nodes are shut down and
 * replaced at once (a lost node is no task failure); exited tasks are shut down and replaced
 * per the restart policy; a replacement whose restart delay has passed is told to run.
 */
export function planSlot(
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
  policy: RestartPolicy | undefined,
  nowMs: number,
  target: RunTarget = 'running',
): SlotPlan {
  const plan: SlotPlan = { occupied: false, changes: new Map() };
  const history = [...tasks].sort(byAge);
  const isJob = target === 'complete';
  const live = history.filter((t) => t.DesiredState === target || t.DesiredState === 'ready');
  const set = (t: Task, desiredState: RunTarget | 'shutdown', reason: string): void => {
    plan.changes.set(t.ID, { type: 'set-desired-state', taskId: t.ID, desiredState, reason });
  };
  const wake = (ms: number): void => {
    plan.wakeMs = plan.wakeMs === undefined ? ms : Math.min(plan.wakeMs, ms);
  };
  const restartFrom = (exited: Task): void => {
    const d = decideRestart(exited, history, policy, nowMs);
    if (!d.restart) {
      plan.occupied = true;
      return;
    }
    const due = d.atMs <= nowMs;
    if (!due) wake(d.atMs);
    plan.replacement = {
      desiredState: due ? target : 'ready',
      restartAtMs: d.atMs,
      reason: `restart ${d.attempt} after task ${exited.ID} ended (${exited.Status.State})`,
    };
  };

  let healthy: Task | undefined;
  // Newest first for jobs would hide a completion behind a later failure; oldest first is fine:
  // a slot never gets a new task after one completed.
  for (const t of live) {
    if (isJob && t.Status.State === 'complete') {
      // A job task that finished did its work: the slot is done and keeps the task as is.
      plan.changes.clear();
      plan.occupied = true;
      healthy = undefined;
      delete plan.replacement;
      break;
    }
    const evict = nodeEvictionReason(t, nodes);
    if (evict !== undefined) {
      set(t, 'shutdown', evict);
      plan.replacement ??= { desiredState: target, reason: `rescheduled: ${evict}` };
    } else if (hasExited(t)) {
      set(t, 'shutdown', `task ended (${t.Status.State})`);
      if (!plan.replacement) restartFrom(t);
    } else if (healthy) {
      // Two live tasks in one slot (a start-first update): the newer one wins, but the older
      // keeps serving until the newer one runs.
      if (t.Status.State === 'running') set(healthy, 'shutdown', `superseded by task ${t.ID}`);
      healthy = t;
    } else healthy = t;
  }
  if (healthy) {
    plan.occupied = true;
    delete plan.replacement;
    const at = parseTimeMs(healthy.RestartAt);
    if (healthy.DesiredState === 'ready' && at !== undefined) {
      if (at <= nowMs) set(healthy, target, 'restart delay elapsed');
      else wake(at);
    }
  } else if (live.length === 0) {
    // A slot whose last task ended and may not restart stays taken, as in swarm: the service
    // shows 0/1 rather than starting a fresh task behind the restart policy's back.
    // Re-deciding here (not only at the exit) lets a slot that ran out of attempts restart
    // once its window has passed, and counts that start as a restart.
    const last = newest(history);
    if (last && hasExited(last) && last.DesiredState !== 'remove') restartFrom(last);
  }
  if (plan.replacement) plan.occupied = true;
  return plan;
}
