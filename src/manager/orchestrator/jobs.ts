import {
  serviceModeKind,
  type Node,
  type RestartPolicy,
  type Service,
  type Task,
} from '../../api/index.js';
import type { OrchestratorAction, ReconcileResult } from './actions.js';
import { planSlot } from './slot-plan.js';
import { hasExited, satisfiesConstraints } from './task-facts.js';

export interface JobInput {
  service: Service;
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  nowMs: number;
}

/** Tasks of a job aim at `complete`; `any` would rerun finished work, so it acts as on-failure. */
function jobPolicy(service: Service): RestartPolicy {
  const p = service.Spec.TaskTemplate.RestartPolicy ?? {};
  return { ...p, Condition: p.Condition === 'none' ? 'none' : 'on-failure' };
}

function iterationOf(service: Service): number {
  return service.JobStatus?.JobIteration.Index ?? 0;
}

/** Tasks from an earlier run of the job are stopped when the job is run again. */
function splitIterations(
  service: Service,
  tasks: readonly Task[],
  actions: OrchestratorAction[],
): Task[] {
  const iteration = iterationOf(service);
  const current: Task[] = [];
  for (const t of tasks) {
    if ((t.JobIteration?.Index ?? 0) === iteration) current.push(t);
    else if (!hasExited(t) && (t.DesiredState === 'complete' || t.DesiredState === 'ready')) {
      actions.push({
        type: 'set-desired-state',
        taskId: t.ID,
        desiredState: 'shutdown',
        reason: `job iteration ${iteration} replaces it`,
      });
    }
  }
  return current;
}

/**
 * Swarm's replicated job: TotalCompletions tasks must complete, at most MaxConcurrent at a
 * time; a failed task is retried in its slot per the restart policy (on-failure by default).
 * Slots 1..TotalCompletions; a slot whose task completed, or gave up, is done.
 */
export function reconcileReplicatedJob(input: JobInput): ReconcileResult {
  const { service, nodes, nowMs } = input;
  if (serviceModeKind(service.Spec.Mode) !== 'replicated-job') return { actions: [] };
  const mode = service.Spec.Mode.ReplicatedJob ?? {};
  const maxConcurrent = Math.max(1, mode.MaxConcurrent ?? 1);
  const total = mode.TotalCompletions ?? maxConcurrent;
  const actions: OrchestratorAction[] = [];
  const current = splitIterations(service, input.tasks, actions);
  const bySlot = new Map<number, Task[]>();
  for (const t of current) {
    let s = bySlot.get(t.Slot);
    if (!s) bySlot.set(t.Slot, (s = []));
    s.push(t);
  }
  let nextWakeMs: number | undefined;
  let active = 0;
  for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) {
    const tasks = bySlot.get(slot) ?? [];
    const plan = planSlot(tasks, nodes, jobPolicy(service), nowMs, 'complete');
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
    const finished = tasks.some((t) => t.Status.State === 'complete');
    if (plan.occupied && !finished && (plan.replacement || tasks.some((t) => !hasExited(t))))
      active++;
  }
  let room = maxConcurrent - active;
  for (let slot = 1; slot <= total && room > 0; slot++) {
    if (bySlot.has(slot)) continue;
    actions.push({
      type: 'create-task',
      serviceId: service.ID,
      slot,
      nodeId: '',
      desiredState: 'complete',
      reason: `job needs ${total} completions`,
    });
    room--;
  }
  return nextWakeMs === undefined ? { actions } : { actions, nextWakeMs };
}

/** Swarm's global job: one task to completion on every eligible node, per job iteration. */
export function reconcileGlobalJob(input: JobInput): ReconcileResult {
  const { service, nodes, nowMs } = input;
  if (serviceModeKind(service.Spec.Mode) !== 'global-job') return { actions: [] };
  const actions: OrchestratorAction[] = [];
  const current = splitIterations(service, input.tasks, actions);
  const byNode = new Map<string, Task[]>();
  for (const t of current) {
    let s = byNode.get(t.NodeID);
    if (!s) byNode.set(t.NodeID, (s = []));
    s.push(t);
  }
  let nextWakeMs: number | undefined;
  for (const node of [...nodes.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1))) {
    const eligible =
      node.Spec.Availability === 'active' &&
      node.Status.State !== 'down' &&
      satisfiesConstraints(service.Spec.TaskTemplate.Placement?.Constraints, node);
    const onNode = byNode.get(node.ID) ?? [];
    if (onNode.length === 0) {
      if (eligible) {
        actions.push({
          type: 'create-task',
          serviceId: service.ID,
          slot: 0,
          nodeId: node.ID,
          desiredState: 'complete',
          reason: `job runs once on node ${node.ID}`,
        });
      }
      continue;
    }
    const plan = planSlot(onNode, nodes, jobPolicy(service), nowMs, 'complete');
    actions.push(...plan.changes.values());
    // A job task cannot move elsewhere: a replacement only ever goes to this node.
    if (plan.replacement && eligible) {
      actions.push({
        type: 'create-task',
        serviceId: service.ID,
        slot: 0,
        nodeId: node.ID,
        ...plan.replacement,
      });
    }
    if (plan.wakeMs !== undefined) nextWakeMs = Math.min(nextWakeMs ?? Infinity, plan.wakeMs);
  }
  return nextWakeMs === undefined ? { actions } : { actions, nextWakeMs };
}
