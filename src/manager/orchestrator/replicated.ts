import { serviceModeKind, type Node, type Service, type Task } from '../../api/index.js';
import type { OrchestratorAction, ReconcileResult } from './actions.js';
import { planSlot } from './slot-plan.js';
import { isLive } from './task-facts.js';

export interface ReplicatedInput {
  service: Service;
  /** Every task of the service, any state. */
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  nowMs: number;
}

/**
 * Swarmkit's replicated orchestrator as one pure pass: slots 1..N each hold one live task.
 * Dead or failing slots are restarted per the restart policy; tasks on lost nodes move; scale
 * down removes the highest slots; scale up fills the lowest free slot numbers.
 */
export function reconcileReplicated(input: ReplicatedInput): ReconcileResult {
  const { service, tasks, nodes, nowMs } = input;
  if (serviceModeKind(service.Spec.Mode) !== 'replicated') return { actions: [] };
  const replicas = service.Spec.Mode.Replicated?.Replicas ?? 1;
  const policy = service.Spec.TaskTemplate.RestartPolicy;

  const bySlot = new Map<number, Task[]>();
  const actions: OrchestratorAction[] = [];
  for (const t of tasks) {
    if (t.Slot <= 0) {
      // Left over from a global incarnation of the service.
      if (isLive(t)) {
        actions.push({
          type: 'set-desired-state',
          taskId: t.ID,
          desiredState: 'remove',
          reason: 'service is replicated',
        });
      }
      continue;
    }
    let s = bySlot.get(t.Slot);
    if (!s) bySlot.set(t.Slot, (s = []));
    s.push(t);
  }

  const plans = new Map(
    [...bySlot].map(([slot, ts]) => [slot, planSlot(ts, nodes, policy, nowMs)]),
  );
  const occupied = [...plans]
    .filter(([, p]) => p.occupied)
    .map(([slot]) => slot)
    .sort((a, b) => a - b);
  const removed = new Set(occupied.slice(replicas));

  let nextWakeMs: number | undefined;
  for (const slot of [...plans.keys()].sort((a, b) => a - b)) {
    const plan = plans.get(slot);
    if (!plan) continue;
    if (removed.has(slot)) {
      for (const t of bySlot.get(slot) ?? []) {
        if (t.DesiredState !== 'remove') {
          actions.push({
            type: 'set-desired-state',
            taskId: t.ID,
            desiredState: 'remove',
            reason: `scaled down to ${replicas}`,
          });
        }
      }
      continue;
    }
    actions.push(...plan.changes.values());
    if (plan.replacement) {
      actions.push({
        type: 'create-task',
        serviceId: service.ID,
        slot,
        nodeId: '',
        ...plan.replacement,
      });
    }
    if (plan.wakeMs !== undefined) nextWakeMs = Math.min(nextWakeMs ?? Infinity, plan.wakeMs);
  }

  const taken = new Set(occupied);
  let missing = replicas - Math.min(occupied.length, replicas);
  for (let slot = 1; missing > 0; slot++) {
    if (taken.has(slot)) continue;
    actions.push({
      type: 'create-task',
      serviceId: service.ID,
      slot,
      nodeId: '',
      desiredState: 'running',
      reason: `scale to ${replicas}`,
    });
    missing--;
  }
  return nextWakeMs === undefined ? { actions } : { actions, nextWakeMs };
}
