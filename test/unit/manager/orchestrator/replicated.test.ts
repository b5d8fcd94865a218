import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RestartPolicy, Service } from '../../../../src/api/index.js';
import { reconcileReplicated } from '../../../../src/manager/orchestrator/index.js';
import { makeNode, makeService, makeSpec, makeTask } from '../../scheduler/fixtures.js';
import { World } from './harness.js';

const S = 1_000_000_000;

function service(
  replicas: number,
  policy: RestartPolicy = { Condition: 'any', Delay: 0 },
): Service {
  return makeService(
    'svc',
    makeSpec('web', {
      Mode: { Replicated: { Replicas: replicas } },
      TaskTemplate: { ContainerSpec: { Image: 'busybox' }, RestartPolicy: policy },
    }),
  );
}

function world(replicas: number, nodeCount: number, policy?: RestartPolicy): World {
  const w = new World(service(replicas, policy));
  for (let i = 0; i < nodeCount; i++) w.nodes.set(`n${i}`, makeNode(`n${i}`));
  return w;
}

describe('replicated reconcile', () => {
  it('creates slots 1..N and removes the highest slots on scale down', () => {
    const w = world(3, 2);
    const first = w.reconcile().actions;
    expect(first.map((a) => a.type === 'create-task' && a.slot)).toEqual([1, 2, 3]);
    w.converge();
    expect(w.running()).toHaveLength(3);
    w.service = service(1);
    const down = w.reconcile().actions;
    const removed = down.map((a) =>
      a.type === 'set-desired-state' ? w.tasks.get(a.taskId)?.Slot : -1,
    );
    expect(removed.sort()).toEqual([2, 3]);
    expect(down.every((a) => a.type === 'set-desired-state' && a.desiredState === 'remove')).toBe(
      true,
    );
    w.converge();
    expect(w.live().map((t) => t.Slot)).toEqual([1]);
    expect(w.tasks.size).toBe(1);
  });

  it('replaces a failed task in the same slot, after the restart delay', () => {
    const w = world(1, 1, { Condition: 'any', Delay: 5 * S });
    w.converge();
    const [t] = w.running();
    if (!t) throw new Error('no task');
    w.setState(t, 'failed', 1);
    const r = w.reconcile();
    expect(r.actions).toEqual([
      expect.objectContaining({
        type: 'set-desired-state',
        taskId: t.ID,
        desiredState: 'shutdown',
      }),
      expect.objectContaining({ type: 'create-task', slot: 1, desiredState: 'ready' }),
    ]);
    expect(r.nextWakeMs).toBe(Date.parse(t.Status.Timestamp) + 5000);
    w.apply(r.actions);
    const again = w.reconcile();
    expect(again.actions).toEqual([]);
    w.nowMs = again.nextWakeMs ?? 0;
    const promote = w.reconcile().actions;
    expect(promote).toEqual([
      expect.objectContaining({ type: 'set-desired-state', desiredState: 'running' }),
    ]);
  });

  it('follows the restart condition and max attempts within the window', () => {
    const onFailure = world(1, 1, { Condition: 'on-failure', Delay: 0 });
    onFailure.converge();
    const [done] = onFailure.running();
    if (!done) throw new Error('no task');
    onFailure.setState(done, 'complete', 0);
    expect(onFailure.reconcile().actions).toEqual([
      expect.objectContaining({ type: 'set-desired-state', desiredState: 'shutdown' }),
    ]);
    onFailure.converge();
    expect(onFailure.reconcile().actions).toEqual([]);

    const limited = world(1, 1, { Condition: 'any', Delay: 0, MaxAttempts: 2, Window: 60 * S });
    limited.converge();
    for (let i = 0; i < 3; i++) {
      const [t] = limited.running();
      if (!t) break;
      limited.setState(t, 'failed', 1);
      limited.converge();
    }
    expect(limited.running()).toHaveLength(0);
    expect([...limited.tasks.values()].filter((t) => t.RestartAt !== undefined)).toHaveLength(2);
    // Once the window has passed, a new failure may restart again.
    limited.nowMs += (120 * S) / 1e6;
    const noneLeft = limited.reconcile();
    expect(noneLeft.actions.some((a) => a.type === 'create-task')).toBe(true);
  });

  it('reschedules tasks from drained and down nodes', () => {
    const w = world(4, 2);
    w.converge();
    w.nodes.set('n0', makeNode('n0', { availability: 'drain' }));
    w.converge();
    expect(w.running().map((t) => t.NodeID)).toEqual(['n1', 'n1', 'n1', 'n1']);
    w.nodes.set('n0', makeNode('n0'));
    w.nodes.set('n1', makeNode('n1', { state: 'down' }));
    const r = w.reconcile().actions;
    expect(r.filter((a) => a.type === 'create-task')).toHaveLength(4);
    w.converge();
    expect(w.live().filter((t) => t.Status.State === 'running' && t.NodeID === 'n0')).toHaveLength(
      4,
    );
  });

  it('moves tasks off a node relabelled out of their constraints', () => {
    const svc = makeService(
      'svc',
      makeSpec('web', {
        Mode: { Replicated: { Replicas: 2 } },
        TaskTemplate: {
          ContainerSpec: { Image: 'busybox' },
          Placement: { Constraints: ['node.labels.tier==web'] },
        },
      }),
    );
    const w = new World(svc);
    w.nodes.set('a', makeNode('a', { labels: { tier: 'web' } }));
    w.nodes.set('b', makeNode('b', { labels: { tier: 'web' } }));
    w.converge();
    w.nodes.set('a', makeNode('a', { labels: { tier: 'db' } }));
    w.converge();
    expect(w.running().map((t) => t.NodeID)).toEqual(['b', 'b']);
  });

  it('keeps a slot whose task ended and may not restart (service shows 0/1)', () => {
    const svc = service(1, { Condition: 'none' });
    const t = makeTask('t1', svc, { state: 'complete', desired: 'shutdown', nodeId: 'n0' });
    const nodes = new Map([['n0', makeNode('n0')]]);
    expect(
      reconcileReplicated({ service: svc, tasks: [t], nodes, nowMs: Date.now() }).actions,
    ).toEqual([]);
  });

  it('converges to exactly N live tasks, at most one per slot, whatever happens (property)', () => {
    const event = fc.oneof(
      fc.record({ k: fc.constant('scale' as const), n: fc.integer({ min: 0, max: 8 }) }),
      fc.record({ k: fc.constant('fail' as const), pick: fc.nat() }),
      fc.record({ k: fc.constant('drain' as const), node: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ k: fc.constant('down' as const), node: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ k: fc.constant('heal' as const), node: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.array(event, { maxLength: 12 }),
        (replicas, events) => {
          const w = world(replicas, 4);
          let n = replicas;
          w.converge();
          for (const e of events) {
            if (e.k === 'scale') w.service = service((n = e.n));
            else if (e.k === 'fail') {
              const running = w.running();
              const victim = running[e.pick % Math.max(1, running.length)];
              if (victim) w.setState(victim, 'failed', 137);
            } else if (e.k === 'drain')
              w.nodes.set(`n${e.node}`, makeNode(`n${e.node}`, { availability: 'drain' }));
            else if (e.k === 'down')
              w.nodes.set(`n${e.node}`, makeNode(`n${e.node}`, { state: 'down' }));
            else w.nodes.set(`n${e.node}`, makeNode(`n${e.node}`));
            w.converge();
            const live = w.live();
            expect(live).toHaveLength(n);
            expect(new Set(live.map((t) => t.Slot)).size).toBe(n);
            expect(Math.max(0, ...live.map((t) => t.Slot))).toBe(n);
            const usable = [...w.nodes.values()].some(
              (x) => x.Spec.Availability === 'active' && x.Status.State === 'ready',
            );
            const runningLive = live.filter((t) => t.Status.State === 'running');
            expect(runningLive.length).toBe(usable ? n : 0);
            for (const t of runningLive) {
              const node = w.nodes.get(t.NodeID);
              expect(node?.Spec.Availability).not.toBe('drain');
              expect(node?.Status.State).toBe('ready');
            }
            expect(
              w.running().filter((t) => w.nodes.get(t.NodeID)?.Status.State === 'ready').length,
            ).toBeLessThanOrEqual(n);
          }
        },
      ),
      { seed: 21, numRuns: 120 },
    );
  });
});
