import type { Node, Task } from '../api/index.js';
import { addTask, buildNodeInfos, type NodeInfo } from './node-info.js';
import { Pipeline } from './pipeline.js';
import { seededRandom } from './random.js';
import { SpreadTree } from './spread.js';

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
  // Callers may pass every task; pending ones are booked by this run, not counted twice.
  const pendingIds = new Set(input.pending.map((t) => t.ID));
  const infos = buildNodeInfos(
    input.nodes,
    input.tasks.filter((t) => !pendingIds.has(t.ID)),
  );
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
  const book = (info: NodeInfo, task: Task): void => {
    addTask(info, { ...task, NodeID: info.node.ID });
    plan.assignments.push({ taskId: task.ID, nodeId: info.node.ID });
  };
  for (const serviceId of [...batches.keys()].sort()) {
    const batch = (batches.get(serviceId) ?? []).slice().sort(bySlotThenId);
    // Tasks that name their node (global services) are checked against that node alone.
    for (const task of batch.filter((t) => t.NodeID !== '')) {
      pipeline.setTask(task);
      const info = infos.get(task.NodeID);
      if (info && pipeline.check(info)) book(info, task);
      else {
        const reason = info
          ? pipeline.explain()
          : `no suitable node (node ${task.NodeID} not found)`;
        plan.unplaceable.push({ taskId: task.ID, serviceId, reason });
      }
    }
    // The rest go in runs of identical specs: static filters once per run, then the spread tree.
    const free = batch.filter((t) => t.NodeID === '');
    for (let i = 0; i < free.length;) {
      const first = free[i] as Task;
      const key = specKey(first);
      let j = i + 1;
      while (j < free.length && specKey(free[j] as Task) === key) j++;
      pipeline.setTask(first);
      const feasible = all.filter((n) => pipeline.checkStatic(n));
      const prefs = first.Spec.Placement?.Preferences ?? [];
      const tree = new SpreadTree(feasible, serviceId, prefs, rank);
      for (let k = i; k < j; k++) {
        const task = free[k] as Task;
        const placed = tree.place(
          (n) => pipeline.checkDynamic(n),
          (n) => book(n, task),
        );
        if (!placed)
          plan.unplaceable.push({ taskId: task.ID, serviceId, reason: pipeline.explain() });
      }
      i = j;
    }
  }
  return plan;
}

/** Tasks with equal keys meet every filter the same way, so they can share one run. */
function specKey(t: Task): string {
  return JSON.stringify([
    t.Spec.Placement,
    t.Spec.Resources,
    t.Endpoint?.Ports ?? t.Endpoint?.Spec.Ports,
  ]);
}

function bySlotThenId(a: Task, b: Task): number {
  return a.Slot - b.Slot || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);
}
