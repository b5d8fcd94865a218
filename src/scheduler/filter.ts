import { matchConstraint, parseConstraints, type Constraint, type Task } from '../api/index.js';
import { hostPortKeys, type NodeInfo } from './node-info.js';

/**
 * One feasibility rule (swarmkit's Filter): `setTask` says whether it applies to the task,
 * `check` judges one node, `explain` words the count of nodes it rejected.
 */
export interface Filter {
  readonly name: string;
  /**
   * Depends on what the run has booked so far (resources, ports, counts). Static filters
   * judge a node the same way for every task of a batch, so they run once per batch.
   */
  readonly dynamic: boolean;
  setTask(task: Task): boolean;
  check(node: NodeInfo): boolean;
  explain(nodes: number): string;
}

const plural = (n: number, what = 'node'): string => `${n} ${what}${n === 1 ? '' : 's'}`;

export class ReadyFilter implements Filter {
  readonly name = 'ready';
  readonly dynamic = false;
  setTask(): boolean {
    return true;
  }
  check(n: NodeInfo): boolean {
    return n.node.Status.State === 'ready';
  }
  explain(nodes: number): string {
    return `${plural(nodes)} not ready`;
  }
}

/** Pause and drain keep their running tasks (or not) but never get new ones. */
export class AvailabilityFilter implements Filter {
  readonly name = 'availability';
  readonly dynamic = false;
  setTask(): boolean {
    return true;
  }
  check(n: NodeInfo): boolean {
    return n.node.Spec.Availability === 'active';
  }
  explain(nodes: number): string {
    return `${plural(nodes)} not available for new tasks (paused or drained)`;
  }
}

export class PlatformFilter implements Filter {
  readonly name = 'platform';
  readonly dynamic = false;
  private platforms: { OS: string; Architecture: string }[] = [];
  setTask(t: Task): boolean {
    this.platforms = t.Spec.Placement?.Platforms ?? [];
    return this.platforms.length > 0;
  }
  check(n: NodeInfo): boolean {
    const p = n.node.Description.Platform;
    const arch = normalizeArch(p.Architecture);
    return this.platforms.some(
      (want) =>
        (want.OS === '' || want.OS.toLowerCase() === p.OS.toLowerCase()) &&
        (want.Architecture === '' || normalizeArch(want.Architecture) === arch),
    );
  }
  explain(nodes: number): string {
    return `unsupported platform on ${plural(nodes)}`;
  }
}

function normalizeArch(a: string): string {
  const l = a.toLowerCase();
  return l === 'x86_64' ? 'amd64' : l === 'aarch64' ? 'arm64' : l;
}

export class ConstraintFilter implements Filter {
  readonly name = 'constraints';
  readonly dynamic = false;
  private constraints: Constraint[] = [];
  /** Set when the task's constraints do not parse: every node fails, with this reason. */
  parseError: string | undefined;
  setTask(t: Task): boolean {
    const exprs = t.Spec.Placement?.Constraints ?? [];
    this.parseError = undefined;
    this.constraints = [];
    if (exprs.length === 0) return false;
    const p = parseConstraints(exprs);
    if (p.ok) this.constraints = p.constraints;
    else this.parseError = p.error;
    return true;
  }
  check(n: NodeInfo): boolean {
    if (this.parseError !== undefined) return false;
    return this.constraints.every((c) => matchConstraint(c, n.subject));
  }
  explain(nodes: number): string {
    return this.parseError ?? `scheduling constraints not satisfied on ${plural(nodes)}`;
  }
}

export class CpuFilter implements Filter {
  readonly name = 'cpu';
  readonly dynamic = true;
  private want = 0;
  setTask(t: Task): boolean {
    this.want = t.Spec.Resources?.Reservations?.NanoCPUs ?? 0;
    return this.want > 0;
  }
  check(n: NodeInfo): boolean {
    return n.availableNanoCpus >= this.want;
  }
  explain(nodes: number): string {
    return `insufficient cpu on ${plural(nodes)}`;
  }
}

export class MemoryFilter implements Filter {
  readonly name = 'memory';
  readonly dynamic = true;
  private want = 0;
  setTask(t: Task): boolean {
    this.want = t.Spec.Resources?.Reservations?.MemoryBytes ?? 0;
    return this.want > 0;
  }
  check(n: NodeInfo): boolean {
    return n.availableMemoryBytes >= this.want;
  }
  explain(nodes: number): string {
    return `insufficient memory on ${plural(nodes)}`;
  }
}

export class HostPortFilter implements Filter {
  readonly name = 'host-ports';
  readonly dynamic = true;
  private ports: string[] = [];
  setTask(t: Task): boolean {
    this.ports = hostPortKeys(t.Endpoint?.Ports ?? t.Endpoint?.Spec.Ports);
    return this.ports.length > 0;
  }
  check(n: NodeInfo): boolean {
    return this.ports.every((p) => !n.hostPorts.has(p));
  }
  explain(nodes: number): string {
    return `host-mode port already in use on ${plural(nodes)}`;
  }
}

export class MaxReplicasFilter implements Filter {
  readonly name = 'max-replicas';
  readonly dynamic = true;
  private max = 0;
  private serviceId = '';
  setTask(t: Task): boolean {
    this.max = t.Spec.Placement?.MaxReplicas ?? 0;
    this.serviceId = t.ServiceID;
    return this.max > 0;
  }
  check(n: NodeInfo): boolean {
    return (n.tasksByService.get(this.serviceId) ?? 0) < this.max;
  }
  explain(nodes: number): string {
    return `max replicas per node limit reached on ${plural(nodes)}`;
  }
}

/** The order in which nodes are judged: each rejected node is counted by the first failure. */
export function defaultFilters(): Filter[] {
  return [
    new ReadyFilter(),
    new AvailabilityFilter(),
    new PlatformFilter(),
    new ConstraintFilter(),
    new CpuFilter(),
    new MemoryFilter(),
    new HostPortFilter(),
    new MaxReplicasFilter(),
  ];
}
