import {
  canonicalJson,
  defaultUpdateConfig,
  nsToMs,
  serviceModeKind,
  type Node,
  type Service,
  type Task,
  type UpdateConfig,
  type UpdateStatus,
} from '../../api/index.js';
import type { OrchestratorAction } from './actions.js';
import { byAge, hasExited, parseTimeMs } from './task-facts.js';

export interface UpdateInput {
  service: Service;
  /** Every task of the service. */
  tasks: readonly Task[];
  nowMs: number;
  /** The cluster's nodes: a task on a node that is down or gone will never report its stop. */
  nodes?: ReadonlyMap<string, Node>;
}

export interface UpdatePlan {
  actions: OrchestratorAction[];
  /** A new UpdateStatus to write on the service, when it changes. */
  status?: UpdateStatus;
  /** FailureAction `rollback` fired: write Spec = PreviousSpec (and the status above). */
  rollback?: boolean;
  nextWakeMs?: number;
}

/** A task runs the service's current spec (swarmkit's IsTaskDirty, inverted). */
export function isUpToDate(t: Task, service: Service): boolean {
  return canonicalJson(t.Spec) === canonicalJson(service.Spec.TaskTemplate);
}

const UPDATING: ReadonlySet<string> = new Set(['updating', 'rollback_started']);

/**
 * Swarm's rolling update as a pure pass over what is observed. Each slot (node, for global
 * services) whose live task runs an old spec is updated, at most Parallelism slots at a time
 * (0 = all), Delay apart. stop-first: the old task is stopped and the new one created `ready`,
 * told to run once the old one has stopped; start-first: the new one is created running and the
 * replicated reconcile stops the old one once the new one runs. A slot is done when its new task
 * has run for Monitor. New tasks failing beyond MaxFailureRatio trigger FailureAction.
 */
export function planUpdate(input: UpdateInput): UpdatePlan {
  const { service, nowMs } = input;
  const kind = serviceModeKind(service.Spec.Mode);
  if (kind === 'replicated-job' || kind === 'global-job') return { actions: [] };
  const state = service.UpdateStatus?.State;
  const paused = state === 'paused' || state === 'rollback_paused';
  const rollingBack = state === 'rollback_started';
  const cfg: Required<UpdateConfig> = {
    ...defaultUpdateConfig(),
    ...(rollingBack ? service.Spec.RollbackConfig : service.Spec.UpdateConfig),
  };
  const monitorMs = nsToMs(cfg.Monitor);
  // Before the first status is written, this pass is the start of the update.
  const startedMs =
    (UPDATING.has(state ?? '') ? parseTimeMs(service.UpdateStatus?.StartedAt) : undefined) ?? nowMs;

  const groups = new Map<string, Task[]>();
  for (const t of input.tasks) {
    const key = kind === 'global' ? `n${t.NodeID}` : `s${t.Slot}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(t);
  }

  const actions: OrchestratorAction[] = [];
  const dirty: { key: string; old: Task[]; slot: number; nodeId: string }[] = [];
  let inFlight = 0;
  let updated = 0;
  let failed = 0;
  let lastFailure: Task | undefined;
  let lastDoneMs = -Infinity;
  let nextWakeMs: number | undefined;
  const wake = (ms: number) => (nextWakeMs = Math.min(nextWakeMs ?? Infinity, ms));

  for (const [key, tasks] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sorted = [...tasks].sort(byAge);
    const fresh = sorted.filter((t) => isUpToDate(t, service));
    // As swarmkit's restart supervisor, a stop-first slot does not wait for an old task whose
    // node is down: it cannot report the stop (the node's tasks are moved when it is marked down).
    const lost = (t: Task): boolean =>
      input.nodes !== undefined &&
      t.NodeID !== '' &&
      (input.nodes.get(t.NodeID)?.Status.State ?? 'down') === 'down';
    const stale = sorted.filter((t) => !isUpToDate(t, service) && !hasExited(t) && !lost(t));
    const staleLive = stale.filter(
      (t) => t.DesiredState === 'running' || t.DesiredState === 'ready',
    );
    const newest = fresh
      .filter((t) => !hasExited(t) && t.DesiredState !== 'remove' && t.DesiredState !== 'shutdown')
      .at(-1);
    // Only an update under way has tasks of its own: otherwise a restart's replacement made in
    // this pass's millisecond would count as updated, and its failure pause a non-update.
    const createdInUpdate = UPDATING.has(state ?? '')
      ? fresh.filter((t) => (parseTimeMs(t.CreatedAt) ?? 0) >= startedMs)
      : [];
    if (createdInUpdate.length > 0) updated++;
    const failures = createdInUpdate.filter(
      (t) => t.Status.State === 'failed' || t.Status.State === 'rejected',
    );
    // Counted per slot: the restart policy's retries of one failed slot are one failure.
    if (failures.length > 0) failed++;
    for (const t of failures) if (!lastFailure || byAge(lastFailure, t) < 0) lastFailure = t;

    if (newest) {
      // stop-first: run the new task once nothing old is left running in the slot.
      if (newest.DesiredState === 'ready' && newest.RestartAt === undefined && stale.length === 0) {
        actions.push({
          type: 'set-desired-state',
          taskId: newest.ID,
          desiredState: 'running',
          reason: 'updated task replaces the stopped one',
        });
      }
      // A pause stops new slots from starting, not the slots already half-way through.
      if (paused) continue;
      const runningSince =
        newest.Status.State === 'running' ? parseTimeMs(newest.Status.Timestamp) : undefined;
      const lastFailedMs = Math.max(
        -Infinity,
        ...failures.map((t) => parseTimeMs(t.Status.Timestamp) ?? -Infinity),
      );
      if (failures.length > 0 && staleLive.length === 0) {
        // A slot whose new task failed is done for the updater (swarmkit's updateTask returns
        // on the failure): the failure counts toward the ratio and the restart policy retries.
        lastDoneMs = Math.max(lastDoneMs, lastFailedMs);
      } else if (createdInUpdate.includes(newest) || staleLive.length > 0) {
        if (
          runningSince === undefined ||
          runningSince + monitorMs > nowMs ||
          staleLive.length > 0
        ) {
          inFlight++;
          if (runningSince !== undefined) wake(runningSince + monitorMs);
        } else lastDoneMs = Math.max(lastDoneMs, runningSince + monitorMs);
      }
      continue;
    }
    if (staleLive.length > 0) {
      const first = staleLive[0] as Task;
      dirty.push({
        key,
        old: staleLive,
        slot: first.Slot,
        nodeId: kind === 'global' ? first.NodeID : '',
      });
    }
  }

  if (paused) return { actions };
  const ratio = updated === 0 ? 0 : failed / updated;
  const inProgress = state !== undefined && UPDATING.has(state);
  const status = (s: UpdateStatus['State'], message: string, done = false): UpdateStatus => ({
    State: s,
    StartedAt:
      (inProgress ? service.UpdateStatus?.StartedAt : undefined) ?? new Date(nowMs).toISOString(),
    ...(done ? { CompletedAt: new Date(nowMs).toISOString() } : {}),
    Message: message,
  });
  if (failed > 0 && ratio > cfg.MaxFailureRatio && cfg.FailureAction !== 'continue') {
    // Swarmkit's wording, plus the task's error so `service inspect` says why.
    const why = `due to failure or early termination of task ${lastFailure?.ID ?? '?'}${
      lastFailure?.Status.Err ? ` (${lastFailure.Status.Err})` : ''
    }: ${failed} of ${updated} updated slots failed`;
    if (rollingBack)
      return { actions, status: status('rollback_paused', `rollback paused ${why}`) };
    if (cfg.FailureAction === 'rollback' && service.PreviousSpec) {
      return {
        actions: [],
        status: status('rollback_started', `update rolled back ${why}`),
        rollback: true,
      };
    }
    return { actions, status: status('paused', `update paused ${why}`) };
  }

  if (dirty.length === 0 && inFlight === 0) {
    const out: UpdatePlan = { actions };
    if (inProgress) {
      // An automatic rollback keeps saying why it happened once it is over.
      const why = service.UpdateStatus?.Message;
      out.status = status(
        rollingBack ? 'rollback_completed' : 'completed',
        rollingBack
          ? why?.startsWith('update rolled back')
            ? why
            : 'rollback completed'
          : 'update completed',
        true,
      );
    }
    return out;
  }

  const room = cfg.Parallelism === 0 ? dirty.length : Math.max(0, cfg.Parallelism - inFlight);
  const delayMs = nsToMs(cfg.Delay);
  const mayStart = lastDoneMs === -Infinity || nowMs >= lastDoneMs + delayMs;
  if (!mayStart) wake(lastDoneMs + delayMs);
  for (const d of mayStart ? dirty.slice(0, room) : []) {
    if (cfg.Order === 'stop-first') {
      for (const t of d.old) {
        actions.push({
          type: 'set-desired-state',
          taskId: t.ID,
          desiredState: 'shutdown',
          reason: 'updating to a new spec',
        });
      }
    }
    actions.push({
      type: 'create-task',
      serviceId: service.ID,
      slot: d.slot,
      nodeId: d.nodeId,
      desiredState: cfg.Order === 'stop-first' ? 'ready' : 'running',
      reason: rollingBack ? 'rollback' : 'update',
    });
  }
  const out: UpdatePlan = { actions };
  if (state === undefined || !UPDATING.has(state))
    out.status = status('updating', 'update in progress');
  if (nextWakeMs !== undefined) out.nextWakeMs = nextWakeMs;
  return out;
}
