import {
  isTerminalTaskState,
  type Node,
  type Service,
  type Task,
} from '../../../../src/api/index.js';
import {
  newTask,
  planUpdate,
  reconcileGlobal,
  reconcileGlobalJob,
  reconcileReplicated,
  reconcileReplicatedJob,
  tasksToReap,
  type OrchestratorAction,
} from '../../../../src/manager/orchestrator/index.js';
import { schedule } from '../../../../src/scheduler/index.js';

/**
 * A tiny in-memory cluster that plays allocator, scheduler, workers and reaper around the pure
 * reconcile functions, so tests can check what the orchestrators converge to.
 */
export class World {
  nodes = new Map<string, Node>();
  tasks = new Map<string, Task>();
  nowMs = Date.parse('2026-11-22T00:00:00Z');
  private ids = 0;
  private version = 1;

  constructor(
    public service: Service,
    private readonly seed = 1,
    private readonly historyLimit = 5,
  ) {}

  iso(): string {
    return new Date(this.nowMs).toISOString();
  }

  /** Also run the rolling updater in each pass. */
  updates = false;
  /** Tasks of this image fail as they start. */
  failingImage: string | undefined;

  reconcile(): { actions: OrchestratorAction[]; nextWakeMs?: number } {
    const tasks = [...this.tasks.values()];
    const input = { service: this.service, tasks, nodes: this.nodes, nowMs: this.nowMs };
    const mode = this.service.Spec.Mode;
    if (mode.Global) return reconcileGlobal(input);
    if (mode.ReplicatedJob) return reconcileReplicatedJob(input);
    if (mode.GlobalJob) return reconcileGlobalJob(input);
    return reconcileReplicated(input);
  }

  /** One updater pass: its actions, and the status written on the service. */
  update(): { actions: OrchestratorAction[]; nextWakeMs?: number } {
    const u = planUpdate({
      service: this.service,
      tasks: [...this.tasks.values()],
      nowMs: this.nowMs,
    });
    if (u.rollback && this.service.PreviousSpec) {
      this.service = {
        ...this.service,
        Spec: this.service.PreviousSpec,
        PreviousSpec: this.service.Spec,
      };
    }
    if (u.status) this.service = { ...this.service, UpdateStatus: u.status };
    return u.nextWakeMs === undefined
      ? { actions: u.actions }
      : { actions: u.actions, nextWakeMs: u.nextWakeMs };
  }

  apply(actions: readonly OrchestratorAction[]): void {
    for (const a of actions) {
      this.nowMs += 1;
      if (a.type === 'create-task') {
        const id = `task${String(++this.ids).padStart(5, '0')}`;
        const t = newTask(this.service, a, id, this.iso());
        this.put({ ...t, Version: { Index: 0 }, CreatedAt: this.iso(), UpdatedAt: this.iso() });
      } else if (a.type === 'set-desired-state') {
        const t = this.tasks.get(a.taskId);
        if (t) this.put({ ...t, DesiredState: a.desiredState });
      } else this.tasks.delete(a.taskId);
    }
  }

  put(t: Task): void {
    this.tasks.set(t.ID, { ...t, Version: { Index: ++this.version } });
  }

  setState(t: Task, state: Task['Status']['State'], exitCode?: number): void {
    this.put({
      ...t,
      Status: {
        ...t.Status,
        State: state,
        Timestamp: this.iso(),
        ...(exitCode === undefined ? {} : { ContainerStatus: { ExitCode: exitCode } }),
      },
    });
  }

  /** Allocator, scheduler and workers, in one go. */
  runCluster(): void {
    for (const t of this.tasks.values()) if (t.Status.State === 'new') this.setState(t, 'pending');
    const all = [...this.tasks.values()];
    const pending = all.filter(
      (t) =>
        t.Status.State === 'pending' &&
        (t.DesiredState === 'running' || t.DesiredState === 'complete'),
    );
    const plan = schedule({
      nodes: [...this.nodes.values()],
      tasks: all.filter((t) => t.NodeID !== '' && t.Status.State !== 'pending'),
      pending,
      seed: this.seed,
    });
    for (const a of plan.assignments) {
      const t = this.tasks.get(a.taskId);
      if (t) this.put({ ...t, NodeID: a.nodeId, Status: { ...t.Status, State: 'assigned' } });
    }
    for (const t of [...this.tasks.values()]) {
      const node = this.nodes.get(t.NodeID);
      const nodeUp = node !== undefined && node.Status.State === 'ready';
      if (isTerminalTaskState(t.Status.State)) continue;
      if (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') {
        // A down node cannot report; its tasks stay as they were until it returns.
        if (nodeUp || t.NodeID === '') this.setState(t, 'shutdown');
      } else if (
        (t.DesiredState === 'running' || t.DesiredState === 'complete') &&
        t.Status.State === 'assigned' &&
        nodeUp
      ) {
        this.setState(t, t.Spec.ContainerSpec.Image === this.failingImage ? 'failed' : 'running');
      }
    }
    const reap = tasksToReap({
      tasks: [...this.tasks.values()],
      serviceIds: new Set([this.service.ID]),
      historyLimit: this.historyLimit,
    });
    this.apply(reap);
  }

  /** One round: reconcile (and update), then let the cluster act. True once nothing is left to do. */
  step(): boolean {
    const r = this.reconcile();
    if (this.updates) {
      this.apply(r.actions);
      const u = this.update();
      r.actions = u.actions;
      if (u.nextWakeMs !== undefined)
        r.nextWakeMs = Math.min(r.nextWakeMs ?? Infinity, u.nextWakeMs);
    }
    if (r.actions.length === 0 && r.nextWakeMs === undefined) {
      this.runCluster();
      return (
        this.reconcile().actions.length === 0 &&
        (!this.updates || this.update().actions.length === 0)
      );
    }
    this.apply(r.actions);
    if (r.actions.length === 0 && r.nextWakeMs !== undefined)
      this.nowMs = Math.max(this.nowMs, r.nextWakeMs);
    this.runCluster();
    return false;
  }

  /** Reconcile and run until nothing changes (restart delays are waited out on the fake clock). */
  converge(maxRounds = 60): number {
    for (let round = 0; round < maxRounds; round++) if (this.step()) return round;
    throw new Error(`no convergence after ${maxRounds} rounds`);
  }

  live(): Task[] {
    return [...this.tasks.values()].filter(
      (t) => t.DesiredState === 'running' || t.DesiredState === 'ready',
    );
  }

  running(): Task[] {
    return [...this.tasks.values()].filter((t) => t.Status.State === 'running');
  }
}
