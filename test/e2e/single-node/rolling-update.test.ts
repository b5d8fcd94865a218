import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service, Task } from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/cli/client.js';
import { ImageStore } from '../../../src/runtime/index.js';
import { OneNodeSwarm, skipE2e } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';
import { busyboxRootfsTar } from '../../helpers/images.js';

// The task's program serves HTTP on its own loopback and, asked to stop, keeps serving for a
// second before it exits (a drain), as a real service behind a load balancer would.
const SERVER = [
  'sh',
  '-c',
  'mkdir -p /www && hostname > /www/index.html && httpd -f -p 127.0.0.1:8080 -h /www & ' +
    'trap "sleep 1; kill $!; exit 0" TERM; wait',
];
const HEALTH = 'wget -q -O /dev/null http://127.0.0.1:8080/';

const skip = skipE2e('rolling-update e2e', ['/usr/bin/nsenter', '/bin/busybox']);

describe.skipIf(skip)('rolling updates and health checks (root, single node)', () => {
  let s: OneNodeSwarm;
  let api: ApiClient;
  const cli = (...args: string[]) => s.cli(args);
  const ok = (...args: string[]) => s.ok(...args);
  const service = (): Promise<Service> => api.get<Service>('/services/web');
  const tasks = (): Promise<Task[]> => api.get<Task[]>('/tasks?service=web');

  /** One HTTP request to a task, from inside its network namespace (its own loopback). */
  const request = (pid: number): Promise<boolean> =>
    new Promise((resolve) => {
      execFile(
        '/usr/bin/nsenter',
        [
          '-t',
          String(pid),
          '-n',
          '/bin/busybox',
          'timeout',
          '2',
          '/bin/busybox',
          'wget',
          '-q',
          '-O',
          '-',
          'http://127.0.0.1:8080/',
        ],
        { timeout: 5_000 },
        (err, stdout) => resolve(!err && stdout.trim().length > 0),
      );
    });

  /**
   * Plays the clients and the watcher while `during` runs: requests go to tasks the manager
   * holds as running (what a VIP would send to); every 50 ms the healthy running containers
   * are counted. Bounded: stops with `during`, or after 3 minutes.
   */
  async function watch(during: Promise<unknown>) {
    let done = false;
    void during.finally(() => (done = true)).catch(() => undefined);
    const stopAt = Date.now() + 180_000;
    let targets: number[] = [];
    let minHealthy = Infinity;
    let requests = 0;
    const failures: string[] = [];
    const observe = async () => {
      while (!done && Date.now() < stopAt) {
        const ts = await tasks();
        targets = ts
          .filter((t) => t.DesiredState === 'running' && t.Status.State === 'running')
          .map((t) => t.Status.ContainerStatus?.PID ?? 0)
          .filter((p) => p > 0);
        const cs = await s.runtime.list({ labels: { 'com.docker.swarm.service.name': 'web' } });
        const healthy = cs.filter((c) => c.state.Running && c.state.Health?.Status === 'healthy');
        minHealthy = Math.min(minHealthy, healthy.length);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const client = async () => {
      while (!done && Date.now() < stopAt) {
        const pid = targets[requests % Math.max(1, targets.length)];
        if (pid === undefined) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        requests++;
        if (!(await request(pid))) failures.push(`request ${requests} to pid ${pid}`);
      }
    };
    await Promise.all([observe(), client(), client(), during.catch(() => undefined)]);
    return { minHealthy, requests, failures };
  }

  beforeAll(async () => {
    s = await OneNodeSwarm.create('tsswarm-upd-', async (swarm) => {
      await swarm.ok('image', 'tag', 'busybox', 'web:v2');
      // An image whose own HEALTHCHECK always fails.
      const store = await ImageStore.open(swarm.dataRoot);
      await store.import(Readable.from([await busyboxRootfsTar()]), {
        name: 'sick:1',
        changes: ['CMD ["sleep", "1000"]', 'HEALTHCHECK --interval=300ms --retries=1 CMD exit 3'],
      });
    });
    api = s.api();
  }, 90_000);
  afterAll(() => s?.destroy(), 90_000);

  it('health: a task runs once healthy; ps, inspect and service ps show it', async () => {
    const out = await ok(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '6',
      '--stop-grace-period',
      '5s',
      '--restart-delay',
      '1s',
      '--health-cmd',
      HEALTH,
      '--health-interval',
      '500ms',
      '--health-retries',
      '2',
      '--update-monitor',
      '1s',
      'busybox',
      ...SERVER,
    );
    expect(out).toContain('overall progress: 6 out of 6 tasks');
    expect(out).toContain('verify: Service converged');
    const cs = await s.runtime.list({ labels: { 'com.docker.swarm.service.name': 'web' } });
    expect(cs.filter((c) => c.state.Health?.Status === 'healthy')).toHaveLength(6);
    const ps = await ok('ps', '-f', 'label=com.docker.swarm.service.name=web');
    expect(ps.match(/Up .* \(healthy\)/g)).toHaveLength(6);
    const inspect = JSON.parse(await ok('inspect', cs[0]!.record.Id)) as {
      State: { Health: { Status: string; FailingStreak: number; Log: { ExitCode: number }[] } };
    }[];
    expect(inspect[0]?.State.Health).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    expect(inspect[0]?.State.Health.Log.at(-1)?.ExitCode).toBe(0);
    expect(await ok('service', 'ps', 'web')).toMatch(/Running\s+Running .* ago/);
  }, 120_000);

  it("the image's HEALTHCHECK: an unhealthy task is failed and replaced; --no-healthcheck turns it off", async () => {
    const created = await ok(
      'service',
      'create',
      '-d',
      '--name',
      'sick',
      '--restart-delay',
      '200ms',
      '--stop-grace-period',
      '1s',
      'sick:1',
    );
    expect(created).toMatch(/^\w+\n$/);
    const failed = async () =>
      (await api.get<Task[]>('/tasks?service=sick')).filter((t) => t.Status.State === 'failed');
    const f = await until(failed, {
      what: 'two failed sick tasks',
      accept: (ts) => ts.length >= 2,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(f[0]?.Status.Err).toBe('unhealthy container');
    expect(await ok('service', 'ps', 'sick')).toContain('"unhealthy container"');
    const out = await ok('service', 'update', '--no-healthcheck', 'sick');
    expect(out).toContain('verify: Service converged');
    const sick = await api.get<Service>('/services/sick');
    expect(sick.Spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['NONE'] });
    const cs = await s.runtime.list({ labels: { 'com.docker.swarm.service.name': 'sick' } });
    expect(cs.filter((c) => c.state.Running)).toHaveLength(1);
    expect(cs.find((c) => c.state.Running)?.record.Config.Healthcheck).toBeUndefined();
    await ok('service', 'rm', 'sick');
  }, 120_000);

  it('bad input: unknown image, stale version, conflicting flags change nothing', async () => {
    const before = await service();
    const unknown = await cli('service', 'update', '--image', 'nosuch:1', 'web');
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain('image nosuch:1 not found on this node');
    const env = await cli('service', 'update', '--env-add', 'A=1', '--env-rm', 'A', 'web');
    expect(env.stderr).toContain('conflicting options: --env-add and --env-rm both name A');
    const health = await cli(
      'service',
      'update',
      '--no-healthcheck',
      '--health-cmd',
      'true',
      'web',
    );
    expect(health.stderr).toContain('--no-healthcheck conflicts with --health-* options');
    const order = await cli('service', 'update', '--update-order', 'sideways', 'web');
    expect(order.stderr).toContain('invalid argument "sideways" for "--update-order" flag');
    const stale = api.post(`/services/${before.ID}/update?version=${before.Version.Index - 1}`, {
      ...before.Spec,
      TaskTemplate: {
        ...before.Spec.TaskTemplate,
        ContainerSpec: { ...before.Spec.TaskTemplate.ContainerSpec, Image: 'web:v2' },
      },
    });
    await expect(stale).rejects.toMatchObject({ message: 'update out of sequence' });
    expect(await service()).toEqual(before);
  }, 60_000);

  it('start-first, parallelism 2: a new image rolls out with no failed request and never fewer than 6 healthy tasks', async () => {
    const update = cli(
      'service',
      'update',
      '--image',
      'web:v2',
      '--update-parallelism',
      '2',
      '--update-order',
      'start-first',
      'web',
    );
    const seen = await watch(update);
    const r = await update;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('overall progress: 6 out of 6 tasks');
    expect(r.stdout).toContain('verify: Service converged');
    expect(seen.failures).toEqual([]);
    expect(seen.requests).toBeGreaterThan(20);
    expect(seen.minHealthy).toBeGreaterThanOrEqual(6);
    const s = await service();
    expect(s.UpdateStatus).toMatchObject({ State: 'completed', Message: 'update completed' });
    expect(s.UpdateStatus?.CompletedAt).toBeDefined();
    const live = (await tasks()).filter((t) => t.DesiredState === 'running');
    expect(live.map((t) => t.Spec.ContainerSpec.Image)).toEqual(Array(6).fill('web:v2'));
    const ls = await ok('service', 'ls');
    expect(ls).toMatch(/web\s+replicated\s+6\/6\s+web:v2/);
  }, 200_000);

  it('a failing health check rolls back (failure action rollback); inspect says why', async () => {
    const r = await cli(
      'service',
      'update',
      '--image',
      'busybox',
      '--health-cmd',
      'exit 1',
      '--health-retries',
      '1',
      '--update-parallelism',
      '2',
      '--update-order',
      'start-first',
      '--update-failure-action',
      'rollback',
      '--rollback-parallelism',
      '0',
      'web',
    );
    expect(r.code).toBe(125);
    expect(r.stdout).toContain('rollback: update rolled back due to failure');
    expect(r.stderr).toMatch(
      /service rolled back: update rolled back due to failure or early termination of task \w+ \(unhealthy container\)/,
    );
    const s = await service();
    expect(s.UpdateStatus?.State).toBe('rollback_completed');
    expect(s.Spec.TaskTemplate.ContainerSpec.Image).toBe('web:v2');
    expect(s.Spec.TaskTemplate.ContainerSpec.Healthcheck?.Test).toEqual(['CMD-SHELL', HEALTH]);
    const ls = await ok('service', 'ls');
    expect(ls).toMatch(/web\s+replicated\s+6\/6\s+web:v2/);
  }, 200_000);

  it('pause after the first batch, then service rollback', async () => {
    const r = await cli(
      'service',
      'update',
      '--image',
      'busybox',
      '--health-cmd',
      'exit 1',
      '--health-retries',
      '1',
      '--update-parallelism',
      '2',
      '--update-order',
      'start-first',
      '--update-failure-action',
      'pause',
      'web',
    );
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(
      /service update paused: update paused due to failure or early termination of task \w+ \(unhealthy container\)/,
    );
    const s = await service();
    expect(s.UpdateStatus?.State).toBe('paused');
    // The first batch only: no slot beyond it got a task of the new spec.
    const startedAt = s.UpdateStatus?.StartedAt ?? '';
    const fresh = (await tasks()).filter(
      (t) => t.Spec.ContainerSpec.Image === 'busybox' && t.CreatedAt >= startedAt,
    );
    expect(fresh.length).toBeGreaterThan(0);
    expect(new Set(fresh.map((t) => t.Slot)).size).toBeLessThanOrEqual(2);
    expect(await ok('service', 'ls')).toMatch(
      /web\s+replicated\s+6\/6 \(update paused\)\s+busybox/,
    );
    const inspect = JSON.parse(await ok('service', 'inspect', 'web')) as Service[];
    expect(inspect[0]?.UpdateStatus?.Message).toContain('unhealthy container');

    const back = await ok('service', 'rollback', 'web');
    expect(back).toContain('rollback: manually requested rollback');
    expect(back).toContain('overall progress: rolling back update: 6 out of 6 tasks');
    expect(back).toContain('verify: Service converged');
    const after = await service();
    expect(after.UpdateStatus?.State).toBe('rollback_completed');
    expect(after.Spec.TaskTemplate.ContainerSpec.Image).toBe('web:v2');
    const live = (await tasks()).filter((t) => t.DesiredState === 'running');
    expect(live.map((t) => t.Spec.ContainerSpec.Image)).toEqual(Array(6).fill('web:v2'));
  }, 200_000);
});
