import type { Node, Task } from '../api/index.js';
import { addTask, buildNodeInfos, type NodeInfo } from './node-info.js';
import { Pipeline } from './pipeline.js';
import { seededRandom } from './random.js';
import { pickNode } from './spread.js';

export interface SchedulerInput {
  nodes: readonly Node[];
  /** Tasks already on nodes (any state): they hold resources, ports and spread counts. */
  tasks: readonly Task[];
  /**
   * Tasks to place. A task that already names a node (global services) is only checked
   * against that node.
   */
  pending: readonly Task[];
  /** Ties between equally good nodes are broken by this seed: same input, same plan. */
  seed: number;
}

export interface Assignment {
  taskId: string;
  nodeId: string;
}

export interface Unplaceable {
  taskId: string;
  serviceId: string;
  /** Swarm's wording: `no suitable node (insufficient memory on 3 nodes; …)`. */
  reason: string;
}

export interface SchedulingPlan {
  assignments: Assignment[];
  unplaceable: Unplaceable[];
}

/**
 * State in, plan out (nomad's shape). Pending tasks are grouped by service and placed one
 * batch at a time; each decision is booked into the node's info before the next, so a batch
 * spreads and never oversubscribes. Only the caller writes the plan into the store.
 */
export function schedule(input: SchedulerInput): SchedulingPlan {
  const infos = buildNodeInfos(input.nodes, input.tasks);
  const random = seededRandom(input.seed);
  // One shuffle per run: a node's rank breaks ties everywhere below.
  const ids = [...infos.keys()].sort();
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
  }
  const rank = new Map(ids.map((id, i) => [id, i]));
  const all = [...infos.values()];

  const batches = new Map<string, Task[]>();
  for (const t of input.pending) {
    let b = batches.get(t.ServiceID);
    if (!b) batches.set(t.ServiceID, (b = []));
    b.push(t);
  }
  const plan: SchedulingPlan = { assignments: [], unplaceable: [] };
  const pipeline = new Pipeline();
  for (const serviceId of [...batches.keys()].sort()) {
    const batch = (batches.get(serviceId) ?? []).slice().sort(bySlotThenId);
    for (const task of batch) {
      pipeline.setTask(task);
      let chosen: NodeInfo | undefined;
      if (task.NodeID !== '') {
        const info = infos.get(task.NodeID);
        chosen = info && pipeline.check(info) ? info : undefined;
      } else {
        const feasible = all.filter((n) => pipeline.check(n));
        chosen = pickNode(feasible, serviceId, task.Spec.Placement?.Preferences ?? [], rank);
      }
      if (!chosen) {
        const reason =
          task.NodeID !== '' && !infos.has(task.NodeID)
            ? `no suitable node (node ${task.NodeID} not found)`
            : pipeline.explain();
        plan.unplaceable.push({ taskId: task.ID, serviceId, reason });
        continue;
      }
      addTask(chosen, { ...task, NodeID: chosen.node.ID });
      plan.assignments.push({ taskId: task.ID, nodeId: chosen.node.ID });
    }
  }
  return plan;
}

function bySlotThenId(a: Task, b: Task): number {
  return a.Slot - b.Slot || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);
}
