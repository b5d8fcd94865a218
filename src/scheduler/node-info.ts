import {
  isTerminalTaskState,
  type ConstraintSubject,
  type Node,
  type PortConfig,
  type Task,
} from '../api/index.js';

/**
 * A node as the scheduler sees it: what is left of its resources and which tasks it runs.
 * Mutable on purpose: the scheduler books each decision into it before the next task.
 */
export interface NodeInfo {
  node: Node;
  availableNanoCpus: number;
  availableMemoryBytes: number;
  /** Tasks that still hold resources (not yet in a terminal state). */
  activeTasks: number;
  /** Per service: tasks that should run here (desired running/ready, not terminal). */
  tasksByService: Map<string, number>;
  /** `port/protocol` of host-mode published ports in use. */
  hostPorts: Set<string>;
  /** The node as constraints and spread preferences see it, built once per run. */
  subject: ConstraintSubject;
}

export function constraintSubject(n: Node): ConstraintSubject {
  return {
    id: n.ID,
    hostname: n.Description.Hostname,
    role: n.Spec.Role,
    os: n.Description.Platform.OS,
    arch: n.Description.Platform.Architecture,
    nodeLabels: n.Spec.Labels,
    engineLabels: n.Description.Engine.Labels,
  };
}

export function hostPortKeys(ports: readonly PortConfig[] | undefined): string[] {
  const out: string[] = [];
  for (const p of ports ?? []) {
    if (p.PublishMode === 'host' && (p.PublishedPort ?? 0) > 0) {
      out.push(`${p.PublishedPort}/${p.Protocol ?? 'tcp'}`);
    }
  }
  return out;
}

function taskHostPorts(t: Task): string[] {
  return hostPortKeys(t.Endpoint?.Ports ?? t.Endpoint?.Spec.Ports);
}

export function newNodeInfo(node: Node): NodeInfo {
  return {
    node,
    availableNanoCpus: node.Description.Resources.NanoCPUs,
    availableMemoryBytes: node.Description.Resources.MemoryBytes,
    activeTasks: 0,
    tasksByService: new Map(),
    hostPorts: new Set(),
    subject: constraintSubject(node),
  };
}

/** Counts a task against its node: resources until it stops, spread while it should run. */
export function addTask(info: NodeInfo, t: Task): void {
  if (isTerminalTaskState(t.Status.State)) return;
  const r = t.Spec.Resources?.Reservations;
  info.availableNanoCpus -= r?.NanoCPUs ?? 0;
  info.availableMemoryBytes -= r?.MemoryBytes ?? 0;
  info.activeTasks++;
  for (const k of taskHostPorts(t)) info.hostPorts.add(k);
  if (t.DesiredState === 'running' || t.DesiredState === 'ready') {
    info.tasksByService.set(t.ServiceID, (info.tasksByService.get(t.ServiceID) ?? 0) + 1);
  }
}

export function buildNodeInfos(
  nodes: readonly Node[],
  tasks: readonly Task[],
): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const n of nodes) infos.set(n.ID, newNodeInfo(n));
  for (const t of tasks) {
    const info = t.NodeID === '' ? undefined : infos.get(t.NodeID);
    if (info) addTask(info, t);
  }
  return infos;
}
