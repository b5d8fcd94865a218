import { serviceModeKind, type Service, type Task } from '../api/index.js';
import { canonicalJson } from '../api/index.js';
import type { DependsOnCondition } from '../compose/index.js';

/** Where a service stands, from the service (with ServiceStatus) and all its tasks. */
export interface ServiceProgress {
  /** Running tasks of the current spec (services) or completed tasks (jobs). */
  done: number;
  total: number;
  /** Replicated/global: `total` up-to-date tasks run and no old one is still stopping. Jobs: all completed. */
  converged: boolean;
  /** A task of it runs or has completed (what service_started means for a job). */
  started: boolean;
  /** Every wanted task completed with exit 0 (jobs: converged). */
  completed: boolean;
  /** The newest task error, while not converged. */
  error?: string;
}

const stoppable = new Set(['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

export function serviceProgress(service: Service, tasks: readonly Task[]): ServiceProgress {
  const kind = serviceModeKind(service.Spec.Mode);
  const status = service.ServiceStatus ?? { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 };
  const template = canonicalJson(service.Spec.TaskTemplate);
  const wanted = tasks.filter((t) => t.DesiredState !== 'shutdown' && t.DesiredState !== 'remove');
  // Errors of tasks of an older spec (history of a service being updated) say nothing now.
  const newestError = tasks
    .filter((t) => t.Status.Err !== undefined && t.Status.Err !== '')
    .filter((t) => canonicalJson(t.Spec) === template)
    .sort((a, b) => cmp(b.Status.Timestamp, a.Status.Timestamp))[0]?.Status.Err;
  const complete = tasks.filter((t) => t.Status.State === 'complete').length;
  const running = wanted.filter((t) => t.Status.State === 'running');
  const started = running.length > 0 || complete > 0;
  let out: ServiceProgress;
  if (kind === 'replicated-job' || kind === 'global-job') {
    const completed = status.CompletedTasks;
    const total =
      kind === 'replicated-job'
        ? (service.Spec.Mode.ReplicatedJob?.TotalCompletions ??
          service.Spec.Mode.ReplicatedJob?.MaxConcurrent ??
          1)
        : completed + status.DesiredTasks;
    const converged = completed >= total && status.RunningTasks === 0;
    out = { done: completed, total, converged, started, completed: converged };
  } else {
    const current = running.filter((t) => canonicalJson(t.Spec) === template).length;
    const stopping = tasks.filter(
      (t) =>
        (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') &&
        stoppable.has(t.Status.State),
    ).length;
    const total = status.DesiredTasks;
    const converged = current === total && running.length === total && stopping === 0;
    out = {
      done: current,
      total,
      converged,
      started: converged,
      completed: total > 0 && complete >= total && running.length === 0,
    };
  }
  if (!out.converged && newestError !== undefined) out.error = newestError;
  return out;
}

/** Whether a depends_on condition holds. service_healthy is running: a task with a health check runs only once healthy. */
export function conditionMet(condition: DependsOnCondition, p: ServiceProgress): boolean {
  if (condition === 'service_completed_successfully') return p.completed;
  return p.started;
}

/**
 * Decides that a service cannot converge: no progress for `stallMs` while its tasks report an
 * error (missing image, no suitable node, a command that keeps failing), or no convergence at
 * all within `limitMs`. Slow but error-free starts (a big image) only meet the second bound.
 */
export class ConvergenceWatch {
  private best = -1;
  private sinceMs: number;
  private readonly startMs: number;

  constructor(
    nowMs: number,
    private readonly stallMs: number,
    private readonly limitMs: number,
  ) {
    this.sinceMs = nowMs;
    this.startMs = nowMs;
  }

  /** An error message when the service is judged stuck, otherwise undefined. */
  observe(p: ServiceProgress, nowMs: number): string | undefined {
    if (p.converged || p.completed) return undefined;
    if (p.done > this.best) {
      this.best = p.done;
      this.sinceMs = nowMs;
    }
    if (p.error !== undefined && nowMs - this.sinceMs >= this.stallMs) return p.error;
    if (nowMs - this.startMs >= this.limitMs) {
      return `did not converge in ${Math.round(this.limitMs / 1000)}s (${p.done} out of ${p.total} tasks)`;
    }
    return undefined;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
