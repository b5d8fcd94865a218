import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Service } from '../../../../src/api/index.js';
import { makeNode, makeService, makeSpec } from '../../scheduler/fixtures.js';
import { World } from './harness.js';

function globalService(constraints: string[] = []): Service {
  return makeService(
    'g',
    makeSpec('agent', {
      Mode: { Global: {} },
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        RestartPolicy: { Condition: 'any', Delay: 0 },
        Placement: { Constraints: constraints },
      },
    }),
  );
}

describe('global reconcile', () => {
  it('runs one task per eligible node and follows availability', () => {
    const w = new World(globalService());
    for (const id of ['a', 'b', 'c']) w.nodes.set(id, makeNode(id));
    w.converge();
    expect(
      w
        .running()
        .map((t) => t.NodeID)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    w.nodes.set('a', makeNode('a', { availability: 'drain' }));
    w.nodes.set('b', makeNode('b', { availability: 'pause' }));
    w.nodes.set('d', makeNode('d'));
    w.converge();
    expect(
      w
        .running()
        .map((t) => t.NodeID)
        .sort(),
    ).toEqual(['b', 'c', 'd']);
    w.nodes.delete('d');
    w.converge();
    expect(
      w
        .live()
        .map((t) => t.NodeID)
        .sort(),
    ).toEqual(['b', 'c']);
  });

  it('does not start a task on a paused node, even to restart one', () => {
    const w = new World(globalService());
    w.nodes.set('a', makeNode('a'));
    w.converge();
    w.nodes.set('a', makeNode('a', { availability: 'pause' }));
    const [t] = w.running();
    if (!t) throw new Error('no task');
    w.setState(t, 'failed', 1);
    const actions = w.reconcile().actions;
    expect(actions).toEqual([
      expect.objectContaining({ type: 'set-desired-state', desiredState: 'shutdown' }),
    ]);
  });

  it('keeps one live task per eligible node and none elsewhere (property)', () => {
    const nodeArb = fc.record({
      availability: fc.constantFrom('active' as const, 'pause' as const, 'drain' as const),
      state: fc.constantFrom('ready' as const, 'ready' as const, 'down' as const),
      zone: fc.constantFrom('x', 'y'),
    });
    fc.assert(
      fc.property(
        fc.array(nodeArb, { minLength: 1, maxLength: 6 }),
        fc.array(nodeArb, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (before, after, constrained) => {
          const w = new World(globalService(constrained ? ['node.labels.zone==x'] : []));
          const put = (specs: typeof before) => {
            w.nodes.clear();
            specs.forEach((n, i) =>
              w.nodes.set(
                `n${i}`,
                makeNode(`n${i}`, {
                  availability: n.availability,
                  state: n.state,
                  labels: { zone: n.zone },
                }),
              ),
            );
          };
          put(before);
          w.converge();
          put(after);
          w.converge();
          const live = w.live();
          for (const [id, node] of w.nodes) {
            const mine = live.filter((t) => t.NodeID === id);
            const matches = !constrained || node.Spec.Labels.zone === 'x';
            const eligibleForNew =
              node.Spec.Availability === 'active' && node.Status.State !== 'down' && matches;
            const mayKeep =
              node.Spec.Availability !== 'drain' && node.Status.State !== 'down' && matches;
            expect(mine.length).toBeLessThanOrEqual(1);
            if (eligibleForNew) expect(mine).toHaveLength(1);
            if (!mayKeep) expect(mine).toHaveLength(0);
          }
          expect(live.every((t) => w.nodes.has(t.NodeID))).toBe(true);
        },
      ),
      { seed: 31, numRuns: 150 },
    );
  });
});
