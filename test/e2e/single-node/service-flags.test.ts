import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service, Task } from '../../../src/api/index.js';
import { OneNodeSwarm, skipE2e, tsswarm } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

// `service create` flags on a one-node swarm, followed to where they act: the container the
// worker made (runtime record, the process inside it), the scheduler's placement, the restart
// orchestrator. Bad values are refused before anything is created.
const skip = skipE2e('service flags e2e');

describe.skipIf(skip)('service create flags, end to end (one-node swarm)', () => {
  let s: OneNodeSwarm;
  const cli = (...args: string[]) => s.cli(args);
  const ok = (...args: string[]) => s.ok(...args);
  const tasks = (service: string): Promise<Task[]> =>
    s.api().get<Task[]>(`/tasks?service=${service}`);
  const containers = (service: string) => s.running(service);

  beforeAll(async () => {
    s = await OneNodeSwarm.create('tsswarm-flags-');
  }, 60_000);
  afterAll(() => s?.destroy(), 60_000);

  it('puts container flags on the container and its process', async () => {
    const out = await ok(
      'service',
      'create',
      '-q',
      '--name',
      'flags',
      '--hostname',
      'h-one',
      '--workdir',
      '/tmp',
      '--user',
      '1000:1000',
      '--container-label',
      'tier=front',
      '--label',
      'team=core',
      '--stop-signal',
      'USR1',
      '--stop-grace-period',
      '3s',
      '--limit-memory',
      '64m',
      '--limit-cpu',
      '0.5',
      '--limit-pids',
      '50',
      '-e',
      'GREETING=hi',
      'busybox',
      'sleep',
      '100000',
    );
    // -q: the id only, and it returns once the service converged.
    expect(out).toMatch(/^\w+\n$/);
    const [c] = await containers('flags');
    expect(c).toBeDefined();
    const r = c!.record;
    expect(r.Config).toMatchObject({
      Hostname: 'h-one',
      WorkingDir: '/tmp',
      User: '1000:1000',
      StopSignal: 'SIGUSR1',
      StopTimeout: 3,
    });
    expect(r.Config.Labels).toMatchObject({ tier: 'front' });
    expect(r.Config.Labels).not.toHaveProperty('team');
    expect(r.HostConfig).toMatchObject({
      Memory: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 50,
    });
    const inside = await ok('exec', r.Id, 'sh', '-c', 'echo $(hostname) $(pwd) $(id -u) $GREETING');
    expect(inside.trim()).toBe('h-one /tmp 1000 hi');
    const spec = (JSON.parse(await ok('service', 'inspect', 'flags')) as Service[])[0]!.Spec;
    expect(spec.Labels).toEqual({ team: 'core' });
  });

  it('places with --replicas-max-per-node and --placement-pref, and says why a task waits', async () => {
    const out = await ok(
      'service',
      'create',
      '-d',
      '--name',
      'capped',
      '--replicas',
      '3',
      '--replicas-max-per-node',
      '2',
      '--placement-pref',
      'spread=node.labels.zone',
      '--reserve-memory',
      '1m',
      'busybox',
      'sleep',
      '100000',
    );
    expect(out).toMatch(/^\w+\n$/);
    const placement = (JSON.parse(await ok('service', 'inspect', 'capped')) as Service[])[0]!.Spec
      .TaskTemplate.Placement;
    expect(placement).toEqual({
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      MaxReplicas: 2,
    });
    await until(() => containers('capped'), {
      what: '2 of 3 running on the only node',
      accept: (c) => c.length === 2,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const pending = await until(() => tasks('capped'), {
      what: 'the third task pending with its reason',
      accept: (ts) => ts.some((t) => t.Status.State === 'pending' && (t.Status.Err ?? '') !== ''),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const err = pending.find((t) => t.Status.State === 'pending')?.Status.Err ?? '';
    expect(err).toMatch(/max replicas per node/);
  });

  it('honours --restart-condition and --restart-max-attempts', async () => {
    await ok(
      'service',
      'create',
      '-d',
      '--name',
      'flaky',
      '--restart-condition',
      'on-failure',
      '--restart-max-attempts',
      '2',
      '--restart-delay',
      '100ms',
      'busybox',
      'false',
    );
    // The first run and two restarts, all failed, then no more.
    const ts = await until(() => tasks('flaky'), {
      what: 'three failed tasks',
      accept: (t) => t.filter((x) => x.Status.State === 'failed').length === 3,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(ts.filter((x) => x.DesiredState === 'running' && x.Status.State !== 'failed')).toEqual(
      [],
    );

    await ok(
      'service',
      'create',
      '-d',
      '--name',
      'once',
      '--restart-condition',
      'on-failure',
      'busybox',
      'true',
    );
    const done = await until(() => tasks('once'), {
      what: 'the task complete',
      accept: (t) => t.some((x) => x.Status.State === 'complete'),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(done).toHaveLength(1);
  });

  it("with -H, the container and image verbs act on that daemon's node", async () => {
    // A CLI whose own data and exec roots are empty: everything it shows comes from the API.
    const elsewhere = join(s.base, 'elsewhere');
    const remote = (...args: string[]) =>
      tsswarm([
        '--data-root',
        elsewhere,
        '--exec-root',
        elsewhere,
        '-H',
        `unix://${s.socket}`,
        ...args,
      ]);
    await ok(
      'service',
      'create',
      '-q',
      '--name',
      'talker',
      'busybox',
      'sh',
      '-c',
      'echo hello-from-task; sleep 100000',
    );
    const [c] = await containers('talker');
    const id = c!.record.Id;
    const ps = await remote(
      'ps',
      '--format',
      'json',
      '-f',
      'label=com.docker.swarm.service.name=talker',
    );
    expect(ps.code, ps.stderr).toBe(0);
    expect(
      ps.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { ID: string }).ID),
    ).toEqual([id.slice(0, 12)]);
    await until(() => remote('logs', id), {
      what: 'the task logged',
      accept: (r) => r.stdout === 'hello-from-task\n',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const inspect = JSON.parse((await remote('inspect', id)).stdout) as { Id: string }[];
    expect(inspect.map((d) => d.Id)).toEqual([id]);
    const images = await remote('image', 'ls', '--format', 'json');
    expect(images.stdout).toContain('"Repository":"busybox"');
    expect((await remote('image', 'inspect', 'busybox')).code).toBe(0);
    const missing = await remote('image', 'inspect', 'nope:none');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such image: nope:none/);
    const exec = await remote('exec', id, 'sh', '-c', 'echo in-task; exit 4');
    expect(exec.stdout).toBe('in-task\n');
    expect(exec.code).toBe(4);
    expect((await remote('rm', '-f', id)).stdout).toBe(`${id}\n`);
    expect((await s.runtime.list({ all: true })).some((x) => x.record.Id === id)).toBe(false);
    expect((await remote('inspect', id)).code).not.toBe(0);
  });

  it('refuses bad flag values, naming the flag, and creates nothing', async () => {
    for (const [flag, value, why] of [
      ['--placement-pref', 'pack=node.labels.zone', /--placement-pref.*spread=/],
      ['--placement-pref', 'spread=node.zone', /--placement-pref/],
      ['--replicas-max-per-node', '-1', /--replicas-max-per-node/],
      ['--stop-signal', 'SIGNOPE', /--stop-signal/],
    ] as const) {
      const r = await cli('service', 'create', '-d', '--name', 'bad', flag, value, 'busybox');
      expect(r.code, `${flag} ${value}`).toBe(125);
      expect(r.stderr).toMatch(why);
    }
    const global = await cli(
      'service',
      'create',
      '-d',
      '--name',
      'bad',
      '--mode',
      'global',
      '--replicas-max-per-node',
      '1',
      'busybox',
    );
    expect(global.code).toBe(125);
    expect(global.stderr).toMatch(/max replicas per node on a global service/);
    expect((await cli('service', 'inspect', 'bad')).code).not.toBe(0);
  });
});
