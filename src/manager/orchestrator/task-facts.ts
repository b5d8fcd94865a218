import {
  isTerminalTaskState,
  matchConstraint,
  parseConstraints,
  type ConstraintSubject,
  type Node,
  type Task,
} from '../../api/index.js';

/** Desired to run (or to be ready to run): the task holds its slot. */
export function isLive(t: Task): boolean {
  return t.DesiredState === 'running' || t.DesiredState === 'ready';
}

export function hasExited(t: Task): boolean {
  return isTerminalTaskState(t.Status.State);
}

/** Oldest first; creation time, then ID, so the order is total. */
export function byAge(a: Task, b: Task): number {
  if (a.CreatedAt !== b.CreatedAt) return a.CreatedAt < b.CreatedAt ? -1 : 1;
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}

export function newest(tasks: readonly Task[]): Task | undefined {
  let n: Task | undefined;
  for (const t of tasks) if (!n || byAge(n, t) < 0) n = t;
  return n;
}

/**
 * Why a task must leave its node, or undefined when the node may keep it. Only `down` counts
 * as lost: `unknown` and `disconnected` nodes may come back with their tasks intact.
 */
export function nodeEvictionReason(t: Task, nodes: ReadonlyMap<string, Node>): string | undefined {
  if (t.NodeID === '') return undefined;
  const n = nodes.get(t.NodeID);
  if (!n) return `node ${t.NodeID} was removed`;
  if (n.Spec.Availability === 'drain') return `node ${t.NodeID} is drained`;
  if (n.Status.State === 'down') return `node ${t.NodeID} is down`;
  if (!satisfiesConstraints(t.Spec.Placement?.Constraints, n)) {
    return `node ${t.NodeID} no longer satisfies the placement constraints`;
  }
  return undefined;
}

export function nodeSubject(n: Node): ConstraintSubject {
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

/** Swarmkit's constraint enforcer: a node relabelled out of a task's constraints loses it. */
export function satisfiesConstraints(exprs: readonly string[] | undefined, n: Node): boolean {
  if (!exprs || exprs.length === 0) return true;
  const parsed = parseConstraints(exprs);
  if (!parsed.ok) return false;
  const s = nodeSubject(n);
  return parsed.constraints.every((c) => matchConstraint(c, s));
}

export function parseTimeMs(ts: string | undefined): number | undefined {
  if (ts === undefined) return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}
