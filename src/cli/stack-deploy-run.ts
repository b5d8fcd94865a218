import type { Service, Task } from '../api/index.js';
import type { DeployAction, DependencyWait } from '../compose/deploy-plan.js';
import {
  conditionMet,
  ConvergenceWatch,
  serviceProgress,
  type ServiceProgress,
} from './stack-progress.js';

/** The three calls the deployer makes (ApiClient has them; tests pass a fake cluster). */
export interface StackApi {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
}

export interface StackDeployRun {
  api: StackApi;
  actions: readonly DeployAction[];
  /** Return once every service is created or updated; still waits for dependencies first. */
  detach: boolean;
  out: (line: string) => void;
  warn: (line: string) => void;
  pollMs?: number;
  /** No progress for this long while tasks report an error: the service cannot converge. */
  stallMs?: number;
  /** Longest wait for one service, errors or not. */
  limitMs?: number;
  now?: () => number;
}

export interface StackDeployFailure {
  service: string;
  error: string;
}

export const defaultStackDeployTimings = { pollMs: 200, stallMs: 15_000, limitMs: 10 * 60_000 };

type Outcome = { ok: true } | { ok: false; error: string };

/**
 * Follows one service from the moment it exists: polls it and its tasks, prints progress when
 * asked to, and settles when the service reached its goal (converged, or completed for a
 * service others wait to complete) or cannot converge.
 */
class Tracker {
  progress: ServiceProgress | undefined;
  outcome: Outcome | undefined;
  private readonly listeners = new Set<() => void>();
  private started = false;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly run: Required<Omit<StackDeployRun, 'actions' | 'detach'>>,
    private readonly goal: (p: ServiceProgress) => boolean,
    private readonly verbose: boolean,
  ) {}

  start(id: string): void {
    if (this.started) return;
    this.started = true;
    this.loop(id).then(
      (o) => this.settle(o),
      (err: unknown) => this.settle({ ok: false, error: errorText(err) }),
    );
  }

  /** Resolves once `pred` holds, or with the failure that ended the tracking. */
  until(pred: (p: ServiceProgress) => boolean): Promise<Outcome> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.progress !== undefined && pred(this.progress)) resolve({ ok: true });
        else if (this.outcome !== undefined) resolve(this.outcome);
        else return false;
        this.listeners.delete(check);
        return true;
      };
      if (!check()) this.listeners.add(check);
    });
  }

  /** Ends the polling once nobody needs it any more (the deploy is over). */
  stop(): void {
    this.stopped = true;
  }

  /** The service was never deployed: whoever waits for it learns why. */
  abandon(error: string): void {
    if (!this.started) this.settle({ ok: false, error });
  }

  private settle(o: Outcome): void {
    this.outcome = o;
    this.emit();
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }

  private async loop(id: string): Promise<Outcome> {
    const { api, now, pollMs, stallMs, limitMs, out } = this.run;
    const watch = new ConvergenceWatch(now(), stallMs, limitMs);
    let last = '';
    while (!this.stopped) {
      const [service, tasks] = await Promise.all([
        api.get<Service>(`/services/${encodeURIComponent(id)}?status=true`),
        api.get<Task[]>(`/tasks?service=${encodeURIComponent(id)}`),
      ]);
      const p = serviceProgress(service, tasks);
      this.progress = p;
      const line = `${this.name}: overall progress: ${p.done} out of ${p.total} tasks`;
      if (this.verbose && line !== last) out(line);
      last = line;
      this.emit();
      if (this.goal(p)) {
        if (this.verbose) out(`${this.name}: verify: Service converged`);
        return { ok: true };
      }
      const stuck = watch.observe(p, now());
      if (stuck !== undefined) return { ok: false, error: stuck };
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return { ok: false, error: 'deploy ended before it converged' };
  }
}

/**
 * Runs a deploy plan: removals, then each service once what it depends on has reached the
 * condition (services with no dependency between them go ahead at the same time), then, unless
 * detached, waits for every created or updated service to converge. Returns the services that
 * failed, each with its task's error; a dependent of a failed required dependency is not
 * touched and is reported too.
 */
export async function runStackDeploy(o: StackDeployRun): Promise<StackDeployFailure[]> {
  const run = { ...defaultStackDeployTimings, now: Date.now, ...o };
  const failures: StackDeployFailure[] = [];
  const fail = (service: string, error: string): void => {
    failures.push({ service, error });
  };

  for (const a of o.actions) {
    if (a.type !== 'remove') continue;
    o.out(`Removing service ${a.name}`);
    await o.api.delete(`/services/${encodeURIComponent(a.id)}`).catch((err: unknown) => {
      fail(a.name, errorText(err));
    });
  }

  const services = o.actions.filter((a) => a.type !== 'remove');
  const changed = (a: DeployAction): boolean => a.type === 'create' || a.type === 'update';
  const waitsOf = (a: DeployAction): DependencyWait[] => (a.type === 'remove' ? [] : a.waitFor);
  // Who is waited on, and how: a service others wait to complete has completion as its goal.
  const awaited = new Map<string, Set<string>>();
  for (const a of services) {
    if (!changed(a)) continue;
    for (const w of waitsOf(a)) {
      const s = awaited.get(w.service) ?? new Set<string>();
      s.add(w.condition);
      awaited.set(w.service, s);
    }
  }
  const trackers = new Map<string, Tracker>();
  for (const a of services) {
    const conditions = awaited.get(a.name);
    const completion = conditions?.has('service_completed_successfully') === true;
    trackers.set(
      a.name,
      new Tracker(
        a.name,
        run,
        (p) => (completion ? p.completed : p.converged),
        changed(a) && !o.detach,
      ),
    );
  }

  const apply = async (a: DeployAction): Promise<void> => {
    if (a.type === 'remove') return;
    const tracker = trackers.get(a.name) as Tracker;
    const follow = !o.detach || awaited.has(a.name);
    if (a.type === 'unchanged') {
      if (awaited.has(a.name)) tracker.start(a.id);
      return;
    }
    for (const w of a.waitFor) {
      const dep = trackers.get(w.service);
      if (!dep) continue;
      const met = (p: ServiceProgress): boolean => conditionMet(w.condition, p);
      // Say that it waits only when the first look at the dependency finds it not ready.
      if ((await dep.until(() => true)).ok && !met(dep.progress as ServiceProgress)) {
        o.out(`Waiting for ${w.service} (${w.condition}) before deploying ${a.name}`);
      }
      const r = await dep.until(met);
      if (r.ok) continue;
      if (w.required) {
        const error = `not deployed: dependency ${w.service} failed: ${r.error}`;
        fail(a.name, error);
        tracker.abandon(error);
        return;
      }
      o.warn(`WARNING: ${a.name}: optional dependency ${w.service} failed: ${r.error}`);
    }
    try {
      if (a.type === 'create') {
        o.out(`Creating service ${a.name}`);
        const { ID } = await o.api.post<{ ID: string }>('/services/create', a.spec);
        if (follow) tracker.start(ID);
      } else {
        o.out(`Updating service ${a.name} (id: ${a.id})`);
        await o.api.post(`/services/${a.id}/update?version=${a.version}`, a.spec);
        if (follow) tracker.start(a.id);
      }
    } catch (err) {
      fail(a.name, errorText(err));
      tracker.abandon(errorText(err));
    }
  };

  // Dependencies start only once something starts their tracker, so each action runs on its own.
  await Promise.all(services.map(apply));
  const waitFor = o.detach ? [] : services.filter(changed);
  for (const a of waitFor) {
    if (failures.some((f) => f.service === a.name)) continue;
    const r = await (trackers.get(a.name) as Tracker).until(() => false);
    if (!r.ok) fail(a.name, r.error);
  }
  // Dependencies that were only waited for up to a condition need no more polling.
  for (const t of trackers.values()) t.stop();
  return failures;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
