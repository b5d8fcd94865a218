import { defaultRestartPolicy, nsToMs, type RestartPolicy, type Task } from '../../api/index.js';
import { parseTimeMs } from './task-facts.js';

export type RestartDecision =
  { restart: true; atMs: number; attempt: number } | { restart: false; reason: string };

/**
 * Should the slot (or node, for global services) of `exited` get a new task, and when?
 * Swarm's rules: `none` never; `on-failure` unless the task completed; `any` always — in each
 * case at most MaxAttempts restarts within Window (0 = the slot's whole life), each one
 * Delay after the exit. Restarts are the slot's earlier tasks that carry `RestartAt`.
 */
export function decideRestart(
  exited: Task,
  slotHistory: readonly Task[],
  policy: RestartPolicy | undefined,
  nowMs: number,
): RestartDecision {
  const p = { ...defaultRestartPolicy(), ...policy };
  if (p.Condition === 'none') return { restart: false, reason: 'restart policy is none' };
  if (p.Condition === 'on-failure' && exited.Status.State === 'complete') {
    return { restart: false, reason: 'task completed and the restart policy is on-failure' };
  }
  const windowMs = nsToMs(p.Window);
  const restarts = slotHistory.filter((t) => {
    const at = parseTimeMs(t.RestartAt);
    return at !== undefined && (windowMs === 0 || at >= nowMs - windowMs);
  }).length;
  if (p.MaxAttempts > 0 && restarts >= p.MaxAttempts) {
    return {
      restart: false,
      reason: `restart attempts exhausted (${restarts} of ${p.MaxAttempts}${windowMs ? ` within ${windowMs} ms` : ''})`,
    };
  }
  const exitedMs = parseTimeMs(exited.Status.Timestamp) ?? nowMs;
  return { restart: true, atMs: exitedMs + nsToMs(p.Delay), attempt: restarts + 1 };
}
