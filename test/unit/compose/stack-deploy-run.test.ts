import { describe, expect, it } from 'vitest';
import {
  serviceModeKind,
  type Service,
  type ServiceSpec,
  type Task,
  type TaskState,
} from '../../../src/api/index.js';
import { planStackDeploy, type DependsOnEdge } from '../../../src/compose/index.js';
import { runStackDeploy, type StackApi } from '../../../src/cli/stack-deploy-run.js';
import {
  ConvergenceWatch,
  conditionMet,
  serviceProgress,
} from '../../../src/cli/stack-progress.js';

const replicated = (name: string, image = 'busybox', replicas = 1): ServiceSpec => ({
  Name: `shop_${name}`,
  Labels: { 'com.docker.stack.namespace': 'shop' },
  TaskTemplate: { ContainerSpec: { Image: image } },
  Mode: { Replicated: { Replicas: replicas } },
});

const job = (name: string): ServiceSpec => ({
  ...replicated(name),
  Mode: { ReplicatedJob: { TotalCompletions: 1 } },
});

/**
 * A cluster in memory: every read of a service's tasks moves each of them one step (pending →
 * running, jobs → complete; the image `missing` is rejected); the clock moves 100 ms per call.
 */
class FakeCluster implements StackApi {
  services = new Map<string, Service>();
  tasks: Task[] = [];
  log: string[] = [];
  clock = 0;
  private seq = 0;

  now = (): number => this.clock;

  get<T>(path: string): Promise<T> {
    this.clock += 100;
    const url = new URL(path, 'http://x');
    if (url.pathname === '/tasks') {
      const id = url.searchParams.get('service') ?? '';
      this.step(id);
      return Promise.resolve(this.tasks.filter((t) => t.ServiceID === id) as T);
    }
    const id = decodeURIComponent(url.pathname.slice('/services/'.length));
    const s = this.services.get(id);
    if (!s) return Promise.reject(new Error(`service ${id} not found`));
    const mine = this.tasks.filter((t) => t.ServiceID === id);
    const kind = serviceModeKind(s.Spec.Mode);
    const completed = mine.filter((t) => t.Status.State === 'complete').length;
    return Promise.resolve({
      ...s,
      ServiceStatus: {
        RunningTasks: mine.filter((t) => t.Status.State === 'running').length,
        DesiredTasks:
          kind === 'replicated' ? (s.Spec.Mode.Replicated?.Replicas ?? 1) : 1 - completed,
        CompletedTasks: kind === 'replicated' ? 0 : completed,
      },
    } as T);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    const spec = body as ServiceSpec;
    if (path === '/services/create') {
      const id = `id${++this.seq}`;
      this.log.push(`create ${spec.Name} at ${this.clock}`);
      this.services.set(id, {
        ID: id,
        Version: { Index: this.seq },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: spec,
      });
      return Promise.resolve({ ID: id } as T);
    }
    const id = path.split('/')[2] ?? '';
    const s = this.services.get(id) as Service;
    this.log.push(`update ${spec.Name}`);
    this.services.set(id, { ...s, Spec: spec });
    for (const t of this.tasks) if (t.ServiceID === id) t.DesiredState = 'shutdown';
    return Promise.resolve({} as T);
  }

  delete<T>(path: string): Promise<T> {
    const id = path.split('/')[2] ?? '';
    this.log.push(`delete ${this.services.get(id)?.Spec.Name}`);
    this.services.delete(id);
    return Promise.resolve({} as T);
  }

  private step(serviceId: string): void {
    const s = this.services.get(serviceId);
    if (!s) return;
    const kind = serviceModeKind(s.Spec.Mode);
    for (const t of this.tasks) {
      if (t.ServiceID !== serviceId) continue;
      if (t.DesiredState === 'shutdown' && t.Status.State === 'running') {
        t.Status = { ...t.Status, State: 'shutdown' };
      } else if (t.Status.State === 'pending') {
        const bad = t.Spec.ContainerSpec.Image === 'missing';
        const next: TaskState = bad ? 'rejected' : kind === 'replicated' ? 'running' : 'complete';
        t.Status = {
          Timestamp: new Date(this.clock).toISOString(),
          State: next,
          Message: next,
          ...(bad ? { Err: 'No such image: missing' } : {}),
        };
        if (next === 'running') this.log.push(`running ${s.Spec.Name} at ${this.clock}`);
      }
    }
    const live = this.tasks.filter(
      (t) =>
        t.ServiceID === serviceId &&
        t.DesiredState !== 'shutdown' &&
        !['rejected', 'complete'].includes(t.Status.State),
    ).length;
    const want = kind === 'replicated' ? (s.Spec.Mode.Replicated?.Replicas ?? 1) : 1;
    const done = this.tasks.filter(
      (t) => t.ServiceID === serviceId && t.Status.State === 'complete',
    ).length;
    for (let i = live + (kind === 'replicated' ? 0 : done); i < want; i++) {
      this.tasks.push({
        ID: `t${++this.seq}`,
        Version: { Index: this.seq },
        CreatedAt: '',
        UpdatedAt: '',
        ServiceID: serviceId,
        Slot: i + 1,
        NodeID: 'n1',
        Spec: s.Spec.TaskTemplate,
        DesiredState: kind === 'replicated' ? 'running' : 'complete',
        Status: { Timestamp: new Date(this.clock).toISOString(), State: 'pending', Message: '' },
      });
    }
  }
}

function edge(
  service: string,
  dependsOn: string,
  condition: DependsOnEdge['condition'] = 'service_started',
  required = true,
): DependsOnEdge {
  return { service, dependsOn, condition, required, restart: false };
}

async function deploy(
  cluster: FakeCluster,
  services: ServiceSpec[],
  dependsOn: DependsOnEdge[],
  detach = false,
) {
  const out: string[] = [];
  const warnings: string[] = [];
  const failures = await runStackDeploy({
    api: cluster,
    actions: planStackDeploy({
      stack: 'shop',
      services,
      dependsOn,
      existing: [...cluster.services.values()],
      prune: false,
    }),
    detach,
    out: (l) => out.push(l),
    warn: (l) => warnings.push(l),
    pollMs: 1,
    stallMs: 1_000,
    limitMs: 60_000,
    now: cluster.now,
  });
  return { out, warnings, failures };
}

describe('runStackDeploy', () => {
  it('creates a dependent only once its dependency runs, and waits for convergence', async () => {
    const c = new FakeCluster();
    const r = await deploy(
      c,
      [replicated('db'), replicated('web', 'busybox', 2)],
      [edge('web', 'db')],
    );
    expect(r.failures).toEqual([]);
    const at = (prefix: string): number => c.log.findIndex((l) => l.startsWith(prefix));
    expect(at('running shop_db')).toBeGreaterThanOrEqual(0);
    expect(at('create shop_web')).toBeGreaterThan(at('running shop_db'));
    expect(r.out).toContain('Waiting for shop_db (service_started) before deploying shop_web');
    expect(r.out).toContain('shop_web: overall progress: 2 out of 2 tasks');
    expect(r.out.filter((l) => l.endsWith('verify: Service converged')).sort()).toEqual([
      'shop_db: verify: Service converged',
      'shop_web: verify: Service converged',
    ]);
    expect([...c.services.values()].every((s) => c.tasks.some((t) => t.ServiceID === s.ID))).toBe(
      true,
    );
  });

  it('waits for a job to complete for service_completed_successfully', async () => {
    const c = new FakeCluster();
    const r = await deploy(
      c,
      [job('migrate'), replicated('app')],
      [edge('app', 'migrate', 'service_completed_successfully')],
    );
    expect(r.failures).toEqual([]);
    const migrate = [...c.services.values()].find((s) => s.Spec.Name === 'shop_migrate');
    const appCreated = c.log.findIndex((l) => l.startsWith('create shop_app'));
    expect(appCreated).toBeGreaterThan(0);
    expect(c.tasks.find((t) => t.ServiceID === migrate?.ID)?.Status.State).toBe('complete');
  });

  it('a redeploy with no change makes no call and prints nothing', async () => {
    const c = new FakeCluster();
    await deploy(c, [replicated('db'), replicated('web')], [edge('web', 'db')]);
    const before = c.log.length;
    const r = await deploy(c, [replicated('db'), replicated('web')], [edge('web', 'db')]);
    expect(r.out).toEqual([]);
    expect(c.log.slice(before)).toEqual([]);
  });

  it('fails a service that cannot converge with its task error, and skips its dependents', async () => {
    const c = new FakeCluster();
    const r = await deploy(
      c,
      [replicated('db', 'missing'), replicated('web'), replicated('other')],
      [edge('web', 'db')],
    );
    expect(r.failures).toEqual([
      {
        service: 'shop_web',
        error: 'not deployed: dependency shop_db failed: No such image: missing',
      },
      { service: 'shop_db', error: 'No such image: missing' },
    ]);
    expect(c.log.some((l) => l.startsWith('create shop_web'))).toBe(false);
    expect(c.log.some((l) => l.startsWith('running shop_other'))).toBe(true);
  });

  it('an optional dependency that fails is a warning and the dependent is deployed', async () => {
    const c = new FakeCluster();
    const r = await deploy(
      c,
      [replicated('cache', 'missing'), replicated('web')],
      [edge('web', 'cache', 'service_healthy', false)],
    );
    expect(r.warnings).toEqual([
      'WARNING: shop_web: optional dependency shop_cache failed: No such image: missing',
    ]);
    expect(r.failures).toEqual([{ service: 'shop_cache', error: 'No such image: missing' }]);
    expect(c.log.some((l) => l.startsWith('running shop_web'))).toBe(true);
  });

  it('--detach returns once services are created, printing no progress', async () => {
    const c = new FakeCluster();
    const r = await deploy(c, [replicated('a'), replicated('b')], [], true);
    expect(r.out).toEqual(['Creating service shop_a', 'Creating service shop_b']);
    expect(c.tasks).toEqual([]);
  });
});

describe('serviceProgress', () => {
  const svc = (spec: ServiceSpec, running: number, desired: number): Service => ({
    ID: 's',
    Version: { Index: 2 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: spec,
    ServiceStatus: { RunningTasks: running, DesiredTasks: desired, CompletedTasks: 0 },
  });
  const task = (
    image: string,
    state: TaskState,
    desired: Task['DesiredState'] = 'running',
  ): Task => ({
    ID: `t-${image}-${state}`,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: 's',
    Slot: 1,
    NodeID: 'n',
    Spec: { ContainerSpec: { Image: image } },
    DesiredState: desired,
    Status: { Timestamp: '2026-01-01T00:00:00Z', State: state, Message: '' },
  });

  it('counts only tasks of the current spec, and waits for old ones to stop', () => {
    const spec = replicated('web', 'busybox:2');
    expect(serviceProgress(svc(spec, 1, 1), [task('busybox:1', 'running')]).converged).toBe(false);
    const p = serviceProgress(svc(spec, 1, 1), [
      task('busybox:2', 'running'),
      task('busybox:1', 'running', 'shutdown'),
    ]);
    expect(p).toMatchObject({ done: 1, total: 1, converged: false });
    expect(
      serviceProgress(svc(spec, 1, 1), [
        task('busybox:2', 'running'),
        task('busybox:1', 'shutdown', 'shutdown'),
      ]).converged,
    ).toBe(true);
  });

  it('reports the newest error of a task of the current spec only', () => {
    const spec = replicated('web', 'busybox:2');
    const failed = (image: string, err: string, at: string): Task => ({
      ...task(image, 'failed', 'shutdown'),
      ID: `t-${err}`,
      Status: { Timestamp: at, State: 'failed', Message: '', Err: err },
    });
    expect(
      serviceProgress(svc(spec, 0, 1), [
        failed('busybox:1', 'old trouble', '2026-01-01T00:00:09Z'),
        failed('busybox:2', 'first', '2026-01-01T00:00:01Z'),
        failed('busybox:2', 'second', '2026-01-01T00:00:02Z'),
      ]).error,
    ).toBe('second');
    expect(
      serviceProgress(svc(spec, 0, 1), [failed('busybox:1', 'old trouble', '2026-01-01T00:00:09Z')])
        .error,
    ).toBeUndefined();
  });

  it('service_healthy holds once the service runs (no health checks yet)', () => {
    const p = serviceProgress(svc(replicated('web'), 1, 1), [task('busybox', 'running')]);
    expect(conditionMet('service_healthy', p)).toBe(true);
    expect(conditionMet('service_completed_successfully', p)).toBe(false);
  });
});

describe('ConvergenceWatch', () => {
  const p = (done: number, error?: string) => ({
    done,
    total: 2,
    converged: false,
    started: false,
    completed: false,
    ...(error ? { error } : {}),
  });

  it('fails after the stall time only while an error is reported, and progress resets it', () => {
    const w = new ConvergenceWatch(0, 1000, 60_000);
    expect(w.observe(p(0, 'boom'), 500)).toBeUndefined();
    expect(w.observe(p(1, 'boom'), 900)).toBeUndefined();
    expect(w.observe(p(1, 'boom'), 1800)).toBeUndefined();
    expect(w.observe(p(1, 'boom'), 1900)).toBe('boom');
    expect(new ConvergenceWatch(0, 1000, 60_000).observe(p(0), 30_000)).toBeUndefined();
    expect(new ConvergenceWatch(0, 1000, 60_000).observe(p(0), 60_000)).toBe(
      'did not converge in 60s (0 out of 2 tasks)',
    );
  });
});
