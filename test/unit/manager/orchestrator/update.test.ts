import { describe, expect, it } from 'vitest';
import type { Service, UpdateConfig } from '../../../../src/api/index.js';
import { planUpdate } from '../../../../src/manager/orchestrator/index.js';
import { makeNode, makeService, makeSpec, makeTask, T0 } from '../../scheduler/fixtures.js';
import { World } from './harness.js';

const S = 1_000_000_000;

function svc(image: string, update: UpdateConfig, replicas = 4): Service {
  return makeService(
    'svc',
    makeSpec('web', {
      Mode: { Replicated: { Replicas: replicas } },
      TaskTemplate: {
        ContainerSpec: { Image: image },
        RestartPolicy: { Condition: 'any', Delay: 0 },
      },
      UpdateConfig: update,
    }),
  );
}

function world(update: UpdateConfig): World {
  const w = new World(svc('app:1', update));
  w.updates = true;
  for (const id of ['a', 'b', 'c']) w.nodes.set(id, makeNode(id));
  w.converge();
  return w;
}

function deploy(w: World, image: string, update: UpdateConfig): void {
  const next = svc(image, update);
  w.service = {
    ...w.service,
    Spec: next.Spec,
    PreviousSpec: w.service.Spec,
    Version: { Index: w.service.Version.Index + 1 },
  };
}

const images = (w: World) =>
  w
    .running()
    .map((t) => t.Spec.ContainerSpec.Image)
    .sort();

describe('rolling update', () => {
  it('stop-first: at most Parallelism slots down at a time, then completed', () => {
    const cfg: UpdateConfig = { Parallelism: 2, Order: 'stop-first', Monitor: 5 * S, Delay: 0 };
    const w = world(cfg);
    deploy(w, 'app:2', cfg);
    let minRunning = Infinity;
    for (let i = 0; i < 100 && !w.step(); i++)
      minRunning = Math.min(minRunning, w.running().length);
    expect(minRunning).toBeGreaterThanOrEqual(2);
    expect(images(w)).toEqual(['app:2', 'app:2', 'app:2', 'app:2']);
    expect(w.service.UpdateStatus?.State).toBe('completed');
  });

  it('start-first: never fewer running tasks than replicas', () => {
    const cfg: UpdateConfig = { Parallelism: 1, Order: 'start-first', Monitor: 1 * S };
    const w = world(cfg);
    deploy(w, 'app:2', cfg);
    let minRunning = Infinity;
    for (let i = 0; i < 200 && !w.step(); i++)
      minRunning = Math.min(minRunning, w.running().length);
    expect(minRunning).toBeGreaterThanOrEqual(4);
    expect(images(w)).toEqual(['app:2', 'app:2', 'app:2', 'app:2']);
    expect(w.live()).toHaveLength(4);
  });

  it('pauses when new tasks fail, leaving the rest on the old spec', () => {
    const cfg: UpdateConfig = { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' };
    const w = world(cfg);
    w.failingImage = 'app:bad';
    deploy(w, 'app:bad', cfg);
    // The failing slot keeps restarting (policy any), as in swarm: run a bounded number of rounds.
    for (let i = 0; i < 40; i++) w.step();
    expect(w.service.UpdateStatus?.State).toBe('paused');
    expect(w.service.UpdateStatus?.Message).toMatch(/update paused/);
    expect(images(w)).toEqual(['app:1', 'app:1', 'app:1']);
  });

  it('rolls back when FailureAction says so', () => {
    const cfg: UpdateConfig = { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback' };
    const w = world(cfg);
    w.failingImage = 'app:bad';
    deploy(w, 'app:bad', cfg);
    w.converge(100);
    expect(w.service.Spec.TaskTemplate.ContainerSpec.Image).toBe('app:1');
    expect(w.service.UpdateStatus?.State).toBe('rollback_completed');
    expect(images(w)).toEqual(['app:1', 'app:1', 'app:1', 'app:1']);
  });
});

describe('paused update', () => {
  it('starts no new slot but finishes the stop-first slot under way', async () => {
    const cfg: UpdateConfig = { Parallelism: 1, Order: 'stop-first' };
    const old = svc('app:1', cfg, 2);
    const cur: Service = {
      ...svc('app:2', cfg, 2),
      UpdateStatus: { State: 'paused', Message: 'update paused' },
    };
    const tasks = [
      makeTask('old1', old, { slot: 1, state: 'shutdown', desired: 'shutdown', nodeId: 'a' }),
      makeTask('new1', cur, { slot: 1, state: 'pending', desired: 'ready' }),
      makeTask('old2', old, { slot: 2, state: 'running', nodeId: 'a' }),
    ];
    const plan = planUpdate({ service: cur, tasks, nowMs: Date.now() });
    expect(plan.actions).toEqual([
      expect.objectContaining({
        type: 'set-desired-state',
        taskId: 'new1',
        desiredState: 'running',
      }),
    ]);
    expect(plan.status).toBeUndefined();
  });
});

describe('no update under way', () => {
  it('a task that fails in the very millisecond of the pass is not an update failure', async () => {
    const cfg: UpdateConfig = { Parallelism: 1, FailureAction: 'pause' };
    const s = svc('app:1', cfg, 2);
    // A restart's replacement made in this pass's millisecond, which failed at once.
    const tasks = [
      makeTask('t1', s, { slot: 1, state: 'failed', desired: 'shutdown', exitCode: 1 }),
      makeTask('t2', s, { slot: 2, state: 'running' }),
    ];
    for (const service of [s, { ...s, UpdateStatus: { State: 'completed' as const } }]) {
      const plan = planUpdate({ service, tasks, nowMs: Date.parse(T0) });
      expect(plan.status).toBeUndefined();
    }
  });
});

describe('rolling update properties (seeded)', () => {
  // mulberry32: small, seeded, so a failure names the case that broke.
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it('keeps replicas-minus-parallelism running (stop-first) or all replicas (start-first)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const replicas = 1 + Math.floor(r() * 8);
      const parallelism = Math.floor(r() * 4);
      const order = r() < 0.5 ? 'stop-first' : 'start-first';
      const cfg: UpdateConfig = {
        Parallelism: parallelism,
        Order: order,
        Monitor: Math.floor(r() * 3) * S,
        Delay: Math.floor(r() * 2) * S,
      };
      const w = new World(svc('app:1', cfg, replicas), seed);
      w.updates = true;
      for (const id of ['a', 'b', 'c']) w.nodes.set(id, makeNode(id));
      w.converge();
      w.service = {
        ...w.service,
        Spec: svc('app:2', cfg, replicas).Spec,
        PreviousSpec: w.service.Spec,
        Version: { Index: w.service.Version.Index + 1 },
      };
      const floor =
        order === 'start-first' ? replicas : parallelism === 0 ? 0 : replicas - parallelism;
      let done = false;
      for (let i = 0; i < 400 && !done; i++) {
        done = w.step();
        const running = w.running().length;
        if (running < floor) {
          throw new Error(
            `seed ${seed} (${replicas} replicas, ${JSON.stringify(cfg)}): ${running} running < ${floor}`,
          );
        }
      }
      expect(done, `seed ${seed} converged`).toBe(true);
      expect(images(w), `seed ${seed}`).toEqual(Array<string>(replicas).fill('app:2'));
      expect(w.service.UpdateStatus?.State, `seed ${seed}`).toBe('completed');
      expect(w.service.UpdateStatus?.CompletedAt).toBeDefined();
    }
  });

  it('failure ratio: failures within MaxFailureRatio do not stop the update', () => {
    const cfg: UpdateConfig = {
      Parallelism: 1,
      Order: 'stop-first',
      FailureAction: 'pause',
      MaxFailureRatio: 1,
      Monitor: 1 * S,
    };
    const w = world(cfg);
    w.failingImage = 'app:bad';
    deploy(w, 'app:bad', cfg);
    for (let i = 0; i < 80; i++) w.step();
    expect(w.service.UpdateStatus?.State).not.toBe('paused');
    // Every slot was moved to the new spec even though its tasks fail.
    const slots = new Set(
      [...w.tasks.values()]
        .filter((t) => t.Spec.ContainerSpec.Image === 'app:bad')
        .map((t) => t.Slot),
    );
    expect([...slots].sort()).toEqual([1, 2, 3, 4]);
  });

  it('continue: the update goes on past failures and completes', () => {
    const cfg: UpdateConfig = { Parallelism: 2, Order: 'stop-first', FailureAction: 'continue' };
    const w = world(cfg);
    w.failingImage = 'app:bad';
    deploy(w, 'app:bad', cfg);
    for (let i = 0; i < 80; i++) w.step();
    expect(w.service.UpdateStatus?.State).toBe('completed');
    expect(images(w)).toEqual([]);
    const live = w.live().map((t) => t.Spec.ContainerSpec.Image);
    expect(live).toEqual(['app:bad', 'app:bad', 'app:bad', 'app:bad']);
  });

  it('pause names the failed task and its error', () => {
    const cfg: UpdateConfig = { Parallelism: 1, Order: 'start-first', FailureAction: 'pause' };
    const w = world(cfg);
    w.failingImage = 'app:bad';
    deploy(w, 'app:bad', cfg);
    for (let i = 0; i < 40; i++) w.step();
    expect(w.service.UpdateStatus?.State).toBe('paused');
    expect(w.service.UpdateStatus?.Message).toMatch(
      /^update paused due to failure or early termination of task task\d+: 1 of 1 updated slots failed$/,
    );
    // start-first: the old tasks never stopped.
    expect(images(w)).toEqual(['app:1', 'app:1', 'app:1', 'app:1']);
  });
});

describe('rolling update of a global service', () => {
  it('updates one node at a time (stop-first) and completes', () => {
    const cfg: UpdateConfig = { Parallelism: 1, Order: 'stop-first', Monitor: 1 * S };
    const spec = (image: string) =>
      makeSpec('agent', {
        Mode: { Global: {} },
        TaskTemplate: {
          ContainerSpec: { Image: image },
          RestartPolicy: { Condition: 'any', Delay: 0 },
        },
        UpdateConfig: cfg,
      });
    const w = new World(makeService('g', spec('agent:1')));
    w.updates = true;
    for (const id of ['a', 'b', 'c']) w.nodes.set(id, makeNode(id));
    w.converge();
    w.service = {
      ...w.service,
      Spec: spec('agent:2'),
      PreviousSpec: w.service.Spec,
      Version: { Index: w.service.Version.Index + 1 },
    };
    let minRunning = Infinity;
    let done = false;
    for (let i = 0; i < 200 && !done; i++) {
      done = w.step();
      minRunning = Math.min(minRunning, w.running().length);
    }
    expect(done).toBe(true);
    expect(minRunning).toBeGreaterThanOrEqual(2);
    expect(images(w)).toEqual(['agent:2', 'agent:2', 'agent:2']);
    expect(new Set(w.running().map((t) => t.NodeID))).toEqual(new Set(['a', 'b', 'c']));
    expect(w.service.UpdateStatus?.State).toBe('completed');
  });
});
