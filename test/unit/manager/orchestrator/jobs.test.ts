import { describe, expect, it } from 'vitest';
import type { Service, ServiceMode } from '../../../../src/api/index.js';
import { makeNode, makeService, makeSpec } from '../../scheduler/fixtures.js';
import { World } from './harness.js';

function job(mode: ServiceMode, iteration = 0, maxAttempts = 0): Service {
  return {
    ...makeService(
      'job',
      makeSpec('migrate', {
        Mode: mode,
        TaskTemplate: {
          ContainerSpec: { Image: 'busybox' },
          RestartPolicy: { Condition: 'any', Delay: 0, MaxAttempts: maxAttempts },
        },
      }),
    ),
    JobStatus: { JobIteration: { Index: iteration } },
  };
}

function completeAll(w: World): void {
  for (const t of w.running()) w.setState(t, 'complete', 0);
}

describe('job reconcile', () => {
  it('runs TotalCompletions tasks, MaxConcurrent at a time, and stops', () => {
    const w = new World(job({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } }));
    w.nodes.set('a', makeNode('a'));
    w.converge();
    const waves: number[] = [];
    for (let i = 0; i < 5 && w.running().length > 0; i++) {
      waves.push(w.running().length);
      completeAll(w);
      w.converge();
    }
    expect(waves).toEqual([2, 2, 1]);
    const done = [...w.tasks.values()].filter((t) => t.Status.State === 'complete');
    expect(done.map((t) => t.Slot).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(w.reconcile().actions).toEqual([]);
  });

  it('retries a failed job task in its slot, treating `any` as on-failure, up to MaxAttempts', () => {
    const w = new World(job({ ReplicatedJob: { TotalCompletions: 1 } }, 0, 1));
    w.nodes.set('a', makeNode('a'));
    w.converge();
    const [first] = w.running();
    if (!first) throw new Error('no task');
    w.setState(first, 'failed', 2);
    w.converge();
    const [retry] = w.running();
    expect(retry?.Slot).toBe(1);
    expect(retry?.RestartAt).toBeDefined();
    if (retry) w.setState(retry, 'failed', 2);
    w.converge();
    expect(w.running()).toEqual([]);
    expect(w.reconcile().actions).toEqual([]);
  });

  it('runs a global job once per eligible node and again on a new iteration', () => {
    const w = new World(job({ GlobalJob: {} }));
    w.nodes.set('a', makeNode('a'));
    w.nodes.set('b', makeNode('b', { availability: 'drain' }));
    w.converge();
    expect(w.running().map((t) => t.NodeID)).toEqual(['a']);
    completeAll(w);
    w.nodes.set('c', makeNode('c'));
    w.converge();
    expect(w.running().map((t) => t.NodeID)).toEqual(['c']);
    completeAll(w);
    w.converge();
    expect(w.reconcile().actions).toEqual([]);
    w.service = job({ GlobalJob: {} }, 1);
    w.converge();
    expect(
      w
        .running()
        .map((t) => t.NodeID)
        .sort(),
    ).toEqual(['a', 'c']);
  });
});
