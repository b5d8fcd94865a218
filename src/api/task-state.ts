/**
 * Task states move forward only, as in swarmkit: a task that ran and stopped is never
 * restarted in place; the orchestrator makes a new task for the slot instead.
 */
export const TASK_STATES = [
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;

export type TaskState = (typeof TASK_STATES)[number];

/** States a manager may ask a task to reach. */
export type DesiredTaskState = 'running' | 'ready' | 'complete' | 'shutdown' | 'remove';

const ORDER: ReadonlyMap<TaskState, number> = new Map(TASK_STATES.map((s, i) => [s, i]));

export function taskStateOrder(state: TaskState): number {
  const o = ORDER.get(state);
  if (o === undefined) throw new Error(`unknown task state ${String(state)}`);
  return o;
}

export function isTaskState(s: string): s is TaskState {
  return ORDER.has(s as TaskState);
}

/** Past running: the task will never run (again). */
export function isTerminalTaskState(state: TaskState): boolean {
  return taskStateOrder(state) > taskStateOrder('running');
}

export type TaskTransition = { ok: true; state: TaskState } | { ok: false; reason: string };

/**
 * Checks a move from `from` to `to`. Staying put is allowed (a repeated status report);
 * moving backwards, or out of a terminal state into another one, is refused.
 */
export function checkTaskTransition(from: TaskState, to: TaskState): TaskTransition {
  if (from === to) return { ok: true, state: to };
  if (isTerminalTaskState(from)) {
    return { ok: false, reason: `task state ${from} is terminal, cannot move to ${to}` };
  }
  if (taskStateOrder(to) < taskStateOrder(from)) {
    return { ok: false, reason: `task state cannot move backwards from ${from} to ${to}` };
  }
  return { ok: true, state: to };
}

/** A task is in one of the desired terminal states already, or further along. */
export function hasReached(state: TaskState, target: TaskState): boolean {
  return taskStateOrder(state) >= taskStateOrder(target);
}
