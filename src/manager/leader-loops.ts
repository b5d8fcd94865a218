import type { Logger } from 'pino';
import {
  serviceModeKind,
  taskName,
  taskStateOrder,
  TsswarmError,
  type Node,
  type Service,
  type Task,
} from '../api/index.js';
import {
  newTask,
  planUpdate,
  reconcileGlobal,
  reconcileGlobalJob,
  reconcileReplicated,
  reconcileReplicatedJob,
  tasksToReap,
  type OrchestratorAction,
  type ReconcileResult,
  type UpdatePlan,
} from './orchestrator/index.js';
import { schedule } from '../scheduler/index.js';
import {
  AddressBook,
  allocateNodeIngress,
  nodeIngressPending,
  serviceNetworkIds,
  taskAttachments,
  withAllocationLock,
} from './allocator/index.js';
import type { MemoryStore, WriteTx } from './store/index.js';

export interface LeaderLoopsOptions {
  store: MemoryStore;
  logger: Logger;
  nowMs?: () => number;
  /** Seed of the scheduler's tie-breaks; each pass adds its counter. */
  seed?: number;
  /**
   * Called after `maxFailures` passes in a row failed: a leader whose loops cannot work must
   * not go on leading as if they did (the manager restarts its leader components).
   */
  onFailing?: (err: unknown) => void;
  maxFailures?: number;
}

/**
 * The leader-only reconcilers in swarmkit's shape: subscribe, do a full pass, and pass again
 * after every commit (coalesced) or when a restart delay ends. One pass runs the orchestrators
 * (pure functions from manager/orchestrator), the task reaper and the scheduler, and writes
 * each stage's decisions in one transaction. Passes never overlap, so two passes cannot create
 * the same slot twice; a pass that changes nothing does not write, so the loop goes quiet.
 */
export class LeaderLoops {
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly abort = new AbortController();
  private running = false;
  private again = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAtMs = Infinity;
  private passes = 0;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(private readonly options: LeaderLoopsOptions) {
    this.log = options.logger.child({ component: 'leader-loops' });
    this.nowMs = options.nowMs ?? Date.now;
  }

  start(): void {
    const watcher = this.options.store.watch({
      types: ['commit', 'reset'],
      signal: this.abort.signal,
    });
    void (async () => {
      try {
        for await (const e of watcher) {
          void e;
          this.kick();
        }
      } catch (err) {
        if (!this.stopped) this.log.error({ err }, 'store watch ended');
      }
    })();
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  /** Resolves when no pass is running (tests). */
  settled(): Promise<void> {
    return this.idle;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
          this.failures = 0;
        } catch (err) {
          if (++this.failures >= (this.options.maxFailures ?? 5) && this.options.onFailing) {
            this.log.error({ err, failures: this.failures }, 'reconcile keeps failing');
            this.options.onFailing(err);
            this.stop();
            break;
          }
          // A failed write (not leader any more, a conflict with a concurrent API call) is
          // retried by the next commit or wake-up; a bug shows up in the log each time.
          this.log.warn({ err }, 'reconcile pass failed');
          this.wakeAt(this.nowMs() + 500);
        }
      } while (this.again && !this.stopped);
      this.running = false;
    })();
  }

  private wakeAt(ms: number): void {
    if (ms >= this.wakeAtMs) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAtMs = ms;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeAtMs = Infinity;
        this.wakeTimer = undefined;
        this.kick();
      },
      Math.max(0, ms - this.nowMs()),
    );
  }

  private async pass(): Promise<void> {
    const store = this.options.store;
    const nowMs = this.nowMs();
    const { services, tasks, nodes, historyLimit } = store.view((tx) => ({
      services: tx.services.find({ by: 'all' }),
      tasks: tx.tasks.find({ by: 'all' }),
      nodes: tx.nodes.find({ by: 'all' }),
      historyLimit:
        tx.clusters.find({ by: 'all' })[0]?.Spec.Orchestration.TaskHistoryRetentionLimit ?? 5,
    }));
    // 0. Allocator: each node's routing-mesh address (task addresses come with task creation).
    if (store.view((tx) => nodeIngressPending(tx))) {
      const res = await withAllocationLock(store, () =>
        store.update((tx) => allocateNodeIngress(tx)),
      );
      if (!res.ok) throw writeRefused('allocator', res.error);
      return;
    }
    const nodeMap = new Map(nodes.map((n) => [n.ID, n]));
    const tasksByService = new Map<string, Task[]>();
    for (const t of tasks) {
      let list = tasksByService.get(t.ServiceID);
      if (!list) tasksByService.set(t.ServiceID, (list = []));
      list.push(t);
    }

    // 1. Orchestrators, then the updater for services the orchestrator left alone this pass
    //    (its plan must see the tasks as they are; the commit brings the next pass).
    const actions: { service: Service; action: OrchestratorAction }[] = [];
    const serviceWrites: Service[] = [];
    for (const service of services) {
      const input = { service, tasks: tasksByService.get(service.ID) ?? [], nodes: nodeMap, nowMs };
      const result = reconcileService(input);
      for (const action of result.actions) actions.push({ service, action });
      if (result.nextWakeMs !== undefined) this.wakeAt(result.nextWakeMs);
      if (result.actions.length > 0) continue;
      const plan = planUpdate(input);
      if (plan.nextWakeMs !== undefined) this.wakeAt(plan.nextWakeMs);
      for (const action of plan.actions) actions.push({ service, action });
      const written = updatedService(service, plan);
      if (written) serviceWrites.push(written);
    }
    // 2. Reaper.
    const reap = tasksToReap({
      tasks,
      serviceIds: new Set(services.map((s) => s.ID)),
      historyLimit,
    });
    if (actions.length > 0 || reap.length > 0 || serviceWrites.length > 0) {
      const byId = new Map(services.map((s) => [s.ID, s]));
      const res = await withAllocationLock(store, () =>
        store.update((tx) => {
          // Addresses are part of task creation, so the scheduler never sees a task without them.
          let book: AddressBook | undefined;
          const addresses = (): AddressBook => (book ??= new AddressBook(tx));
          for (const { service, action } of actions) applyAction(tx, service, action, addresses);
          for (const s of serviceWrites) {
            // An API write since our view (a new update, a rollback) wins; the next pass re-plans.
            const cur = tx.services.get(s.ID);
            if (cur && cur.Version.Index === s.Version.Index) tx.services.update(s);
          }
          for (const action of reap) {
            const t = tx.tasks.get((action as { taskId: string }).taskId);
            const s = t ? byId.get(t.ServiceID) : undefined;
            if (t) applyAction(tx, s, action);
          }
        }),
      );
      if (!res.ok) throw writeRefused('orchestrator', res.error);
      this.log.debug({ actions: actions.length, reaped: reap.length }, 'orchestrated');
      // The commit wakes us again; schedule with what it created.
      return;
    }

    // 3. Scheduler: tasks not yet on a node (or global ones not yet accepted by theirs).
    const pending = tasks.filter(
      (t) =>
        taskStateOrder(t.Status.State) < taskStateOrder('assigned') &&
        (t.DesiredState === 'running' || t.DesiredState === 'complete'),
    );
    if (pending.length === 0) return;
    const plan = schedule({
      nodes,
      tasks,
      pending,
      seed: (this.options.seed ?? 1) + this.passes++,
    });
    const unplaceable = plan.unplaceable.filter((u) => {
      const t = tasks.find((x) => x.ID === u.taskId);
      return t !== undefined && (t.Status.State !== 'pending' || t.Status.Err !== u.reason);
    });
    if (plan.assignments.length === 0 && unplaceable.length === 0) return;
    const res = await store.update((tx) => {
      const now = tx.now;
      for (const a of plan.assignments) {
        const t = tx.tasks.get(a.taskId);
        if (!t || taskStateOrder(t.Status.State) >= taskStateOrder('assigned')) continue;
        tx.tasks.update({
          ...t,
          NodeID: a.nodeId,
          Status: { Timestamp: now, State: 'assigned', Message: 'scheduler assigned task to node' },
        });
      }
      for (const u of unplaceable) {
        const t = tx.tasks.get(u.taskId);
        if (!t || taskStateOrder(t.Status.State) >= taskStateOrder('assigned')) continue;
        tx.tasks.update({
          ...t,
          Status: {
            Timestamp: now,
            State: 'pending',
            Message: 'pending task scheduling',
            Err: u.reason,
          },
        });
      }
    });
    if (!res.ok) throw writeRefused('scheduler', res.error);
  }
}

/** A refused write keeps the store's code (not leader, out of sequence) for whoever handles it. */
function writeRefused(stage: string, error: TsswarmError): TsswarmError {
  return new TsswarmError(error.code, `${stage} write refused: ${error.message}`, { cause: error });
}

/** The service as the update plan leaves it (status, and the spec swap of a rollback). */
function updatedService(service: Service, plan: UpdatePlan): Service | undefined {
  if (!plan.status && !plan.rollback) return undefined;
  let next: Service = { ...service };
  if (plan.rollback && service.PreviousSpec) {
    next = { ...next, Spec: service.PreviousSpec, PreviousSpec: service.Spec };
  }
  if (plan.status) next.UpdateStatus = plan.status;
  return next;
}

function reconcileService(input: {
  service: Service;
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  nowMs: number;
}): ReconcileResult {
  switch (serviceModeKind(input.service.Spec.Mode)) {
    case 'replicated':
      return reconcileReplicated(input);
    case 'global':
      return reconcileGlobal(input);
    case 'replicated-job':
      return reconcileReplicatedJob(input);
    case 'global-job':
      return reconcileGlobalJob(input);
  }
}

function applyAction(
  tx: WriteTx,
  service: Service | undefined,
  action: OrchestratorAction,
  addresses?: () => AddressBook,
): void {
  switch (action.type) {
    case 'create-task': {
      // A task is made from the spec this pass planned with, never from one replaced since.
      if (!service || tx.services.get(service.ID)?.Version.Index !== service.Version.Index) return;
      const t = newTask(service, action, tx.newId(), tx.now);
      const attachments =
        addresses && serviceNetworkIds(service).length > 0
          ? taskAttachments(addresses(), service)
          : [];
      tx.tasks.create({
        ...t,
        Name: taskName(service.Spec.Name, t),
        ...(attachments.length > 0 ? { NetworksAttachments: attachments } : {}),
      });
      return;
    }
    case 'set-desired-state': {
      const t = tx.tasks.get(action.taskId);
      if (!t || t.DesiredState === action.desiredState) return;
      tx.tasks.update({ ...t, DesiredState: action.desiredState });
      return;
    }
    case 'delete-task':
      if (tx.tasks.get(action.taskId)) tx.tasks.delete(action.taskId);
      return;
  }
}
