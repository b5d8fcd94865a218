import { serviceModeKind, type Node, type Service, type Task } from '../../api/index.js';
import type { OrchestratorAction, ReconcileResult } from './actions.js';
import { planSlot } from './slot-plan.js';
import { isLive, satisfiesConstraints } from './task-facts.js';

export interface GlobalInput {
  service: Service;
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  nowMs: number;
}

/** Why the service may not run on `n` at all (drained, down, constraints), or undefined. */
function ineligibility(service: Service, n: Node): string | undefined {
  if (n.Spec.Availability === 'drain') return `node ${n.ID} is drained`;
  if (n.Status.State === 'down') return `node ${n.ID} is down`;
  if (!satisfiesConstraints(service.Spec.TaskTemplate.Placement?.Constraints, n)) {
    return `node ${n.ID} no longer satisfies the placement constraints`;
  }
  return undefined;
}

/**
 * Swarmkit's global orchestrator as one pure pass: one live task per eligible node; tasks
 * leave nodes that are drained, down, removed or no longer match the constraints; paused
 * nodes keep their task but get no new one; exits follow the restart policy per node.
 */
export function reconcileGlobal(input: GlobalInput): ReconcileResult {
  const { service, tasks, nodes, nowMs } = input;
  if (serviceModeKind(service.Spec.Mode) !== 'global') return { actions: [] };
  const policy = service.Spec.TaskTemplate.RestartPolicy;
  const actions: OrchestratorAction[] = [];
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.NodeID === '' || !nodes.has(t.NodeID)) {
      if (isLive(t)) {
        const reason =
          t.NodeID === '' ? 'global task without a node' : `node ${t.NodeID} was removed`;
        actions.push({ type: 'set-desired-state', taskId: t.ID, desiredState: 'remove', reason });
      }
      continue;
    }
    let s = byNode.get(t.NodeID);
    if (!s) byNode.set(t.NodeID, (s = []));
    s.push(t);
  }
  let nextWakeMs: number | undefined;
  for (const node of [...nodes.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1))) {
    const onNode = byNode.get(node.ID) ?? [];
    const why = ineligibility(service, node);
    if (why !== undefined) {
      for (const t of onNode) {
        if (isLive(t))
          actions.push({
            type: 'set-desired-state',
            taskId: t.ID,
            desiredState: 'shutdown',
            reason: why,
          });
      }
      continue;
    }
    const plan = planSlot(onNode, nodes, policy, nowMs);
    actions.push(...plan.changes.values());
    if (plan.wakeMs !== undefined) nextWakeMs = Math.min(nextWakeMs ?? Infinity, plan.wakeMs);
    const create =
      plan.replacement ??
      (plan.occupied
        ? undefined
        : { desiredState: 'running' as const, reason: `new node ${node.ID}` });
    // Pause keeps what runs but starts nothing new there, restarts included.
    if (create && node.Spec.Availability === 'active') {
      actions.push({
        type: 'create-task',
        serviceId: service.ID,
        slot: 0,
        nodeId: node.ID,
        ...create,
      });
    }
  }
  return nextWakeMs === undefined ? { actions } : { actions, nextWakeMs };
}
