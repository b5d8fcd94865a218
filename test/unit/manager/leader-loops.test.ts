import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Node, Task } from '../../../src/api/index.js';
import { LeaderLoops } from '../../../src/manager/leader-loops.js';
import { InMemoryProposer, MemoryStore, type NewObject } from '../../../src/manager/store/index.js';
import { until } from '../../helpers/until.js';

function node(id: string): NewObject<Node> {
  return {
    ID: id,
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8e9 },
      Engine: { Labels: {} },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
  };
}

const soon = { timeoutMs: 2_000, intervalMs: 2 };

describe('LeaderLoops (orchestrator + scheduler over the store)', () => {
  let loops: LeaderLoops | undefined;
  afterEach(() => loops?.stop());

  it('assigns replicas, moves tasks off a node that goes down, and explains what cannot run', async () => {
    const store = new MemoryStore();
    store.setProposer(new InMemoryProposer(store));
    await store.update((tx) => {
      tx.nodes.create(node('n1'));
      tx.nodes.create(node('n2'));
      tx.services.create({
        ID: 's1',
        Spec: {
          Name: 'web',
          TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
          Mode: { Replicated: { Replicas: 4 } },
        },
      });
    });
    loops = new LeaderLoops({ store, logger: pino({ enabled: false }) });
    loops.start();
    const live = (): Task[] =>
      store
        .view((tx) => tx.tasks.find({ by: 'serviceId', serviceId: 's1' }))
        .filter((t) => t.DesiredState === 'running');
    await until(() => live().length === 4 && live().every((t) => t.Status.State === 'assigned'), {
      ...soon,
      what: '4 live tasks assigned',
    });
    expect(
      live()
        .map((t) => t.Name?.split('.').slice(0, 2).join('.'))
        .sort(),
    ).toEqual(['web.1', 'web.2', 'web.3', 'web.4']);
    expect(new Set(live().map((t) => t.NodeID))).toEqual(new Set(['n1', 'n2']));

    await store.update((tx) => {
      const n = tx.nodes.get('n1')!;
      tx.nodes.update({ ...n, Status: { ...n.Status, State: 'down' } });
    });
    await until(() => live().length === 4 && live().every((t) => t.NodeID === 'n2'), {
      ...soon,
      what: '4 live tasks on n2',
    });

    await store.update((tx) => {
      const n = tx.nodes.get('n2')!;
      tx.nodes.update({ ...n, Spec: { ...n.Spec, Availability: 'drain' } });
    });
    await until(() => live().length === 4 && live().every((t) => t.Status.State === 'pending'), {
      ...soon,
      what: '4 live tasks pending',
    });
    expect(live()[0]?.Status.Err).toMatch(/^no suitable node \(/);
    await loops.settled();
  });

  it('gives up leading its loops when passes keep failing', async () => {
    const store = new MemoryStore();
    const proposer = new InMemoryProposer(store);
    store.setProposer(proposer);
    await store.update((tx) => {
      tx.nodes.create(node('n1'));
      tx.services.create({
        ID: 's1',
        Spec: {
          Name: 'web',
          TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
          Mode: { Replicated: { Replicas: 1 } },
        },
      });
    });
    store.setProposer({ propose: () => Promise.reject(new Error('no quorum')) });
    let failing: unknown;
    loops = new LeaderLoops({
      store,
      logger: pino({ enabled: false }),
      maxFailures: 2,
      onFailing: (err) => (failing = err),
    });
    loops.start();
    await until(() => failing !== undefined, { ...soon, what: 'a leader loop failing' });
    expect((failing as Error).message).toBe('no quorum');
  });
});
