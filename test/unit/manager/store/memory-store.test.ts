import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Service, Task } from '../../../../src/api/index.js';
import {
  InMemoryProposer,
  MemoryStore,
  type StoreEvent,
} from '../../../../src/manager/store/index.js';
import { makeNode, makeService, makeSpec, makeTask } from '../../scheduler/fixtures.js';

function seededRandom(seed: number) {
  let s = seed >>> 0;
  return (n: number): Uint8Array =>
    Uint8Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s >>> 24;
    });
}

function newStore(seed = 1) {
  let ms = Date.parse('2026-11-22T00:00:00Z');
  const store = new MemoryStore({ now: () => new Date((ms += 1000)), random: seededRandom(seed) });
  const proposer = new InMemoryProposer(store);
  store.setProposer(proposer);
  return { store, proposer };
}

async function createService(store: MemoryStore, name: string): Promise<Service> {
  const r = await store.update((tx) => tx.services.create(makeService(tx.newId(), makeSpec(name))));
  if (!r.ok) throw r.error;
  const s = store.view((tx) => tx.services.get(r.value.ID));
  if (!s) throw new Error('service vanished');
  return s;
}

describe('memory store', () => {
  it('stamps versions with the raft index and timestamps from the proposer', async () => {
    const { store } = newStore();
    const s = await createService(store, 'web');
    expect(s.Version.Index).toBe(1);
    expect(s.CreatedAt).toBe('2026-11-22T00:00:01.000Z');
    expect(s.ID).toMatch(/^[0-9a-z]{25}$/);
    expect(store.index).toBe(1);
    expect(Object.isFrozen(s.Spec)).toBe(true);
  });

  it('refuses an update that carries a stale version', async () => {
    const { store } = newStore();
    const s = await createService(store, 'web');
    const first = await store.update((tx) =>
      tx.services.update({ ...s, Spec: { ...s.Spec, Labels: { a: '1' } } }),
    );
    expect(first.ok).toBe(true);
    const stale = await store.update((tx) =>
      tx.services.update({ ...s, Spec: { ...s.Spec, Labels: { a: '2' } } }),
    );
    expect(stale.ok).toBe(false);
    if (!stale.ok) {
      expect(stale.error.code).toBe('TSS_OUT_OF_SEQUENCE');
      expect(stale.error.message).toContain('update out of sequence');
    }
    expect(store.view((tx) => tx.services.get(s.ID))?.Spec.Labels).toEqual({ a: '1' });
  });

  it('refuses at apply time when two writers read the same version', async () => {
    const { store } = newStore();
    const s = await createService(store, 'web');
    // A proposer that commits later, so both transactions read before either applies.
    const queued: Array<() => void> = [];
    let index = store.index;
    store.setProposer({
      propose: (data) =>
        new Promise((resolve) => {
          queued.push(() => resolve(store.apply({ index: ++index, term: 1, data })));
        }),
    });
    const a = store.update((tx) =>
      tx.services.update({ ...s, Spec: { ...s.Spec, Labels: { w: 'a' } } }),
    );
    const b = store.update((tx) =>
      tx.services.update({ ...s, Spec: { ...s.Spec, Labels: { w: 'b' } } }),
    );
    expect(queued).toHaveLength(2);
    for (const commit of queued) commit();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.ok).toBe(true);
    expect(rb.ok).toBe(false);
    if (!rb.ok) expect(rb.error.message).toBe(`update out of sequence: services ${s.ID}`);
    expect(store.view((tx) => tx.services.get(s.ID))?.Spec.Labels).toEqual({ w: 'a' });
  });

  it('refuses duplicate names and leaves the store unchanged on any failure', async () => {
    const { store } = newStore();
    await createService(store, 'web');
    const before = store.snapshot();
    const r = await store.update((tx) => {
      tx.nodes.create(makeNode('n1'));
      tx.services.create(makeService(tx.newId(), makeSpec('WEB')));
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('TSS_CONFLICT');
    expect(store.snapshot()).toEqual(before);
  });

  it('answers the closed set of selectors, reading its own writes inside a transaction', async () => {
    const { store } = newStore();
    const s = await createService(store, 'web');
    await store.update((tx) => {
      tx.nodes.create(makeNode('n1', { role: 'manager', labels: { zone: 'a' } }));
      tx.nodes.create(makeNode('n2'));
      for (let slot = 1; slot <= 3; slot++) {
        tx.tasks.create(makeTask(`t${slot}`, s, { slot, nodeId: slot === 3 ? 'n2' : 'n1' }));
      }
      tx.tasks.create(makeTask('t4', s, { slot: 1, nodeId: 'n1', desired: 'shutdown' }));
      expect(tx.tasks.find({ by: 'serviceId', serviceId: s.ID })).toHaveLength(4);
    });
    store.view((tx) => {
      expect(tx.tasks.find({ by: 'nodeId', nodeId: 'n1' }).map((t) => t.ID)).toEqual([
        't1',
        't2',
        't4',
      ]);
      expect(tx.tasks.find({ by: 'slot', serviceId: s.ID, slot: 1 }).map((t) => t.ID)).toEqual([
        't1',
        't4',
      ]);
      expect(tx.tasks.find({ by: 'desiredState', state: 'shutdown' }).map((t) => t.ID)).toEqual([
        't4',
      ]);
      expect(tx.nodes.find({ by: 'label', key: 'zone', value: 'a' }).map((n) => n.ID)).toEqual([
        'n1',
      ]);
      expect(tx.nodes.find({ by: 'role', role: 'worker' }).map((n) => n.ID)).toEqual(['n2']);
      expect(tx.services.find({ by: 'name', name: 'WEB' }).map((x) => x.ID)).toEqual([s.ID]);
      expect(tx.services.find({ by: 'idPrefix', prefix: s.ID.slice(0, 5) })).toHaveLength(1);
      expect(tx.tasks.get('t4')?.DesiredState).toBe('shutdown');
    });
    await store.update((tx) => {
      const t = tx.tasks.get('t3') as Task;
      tx.tasks.update({ ...t, NodeID: 'n1' });
      tx.tasks.delete('t4');
      expect(tx.tasks.find({ by: 'nodeId', nodeId: 'n1' }).map((x) => x.ID)).toEqual([
        't1',
        't2',
        't3',
      ]);
    });
    expect(store.view((tx) => tx.tasks.find({ by: 'nodeId', nodeId: 'n2' }))).toEqual([]);
  });

  it('publishes events only after commit, and nothing for a refused transaction', async () => {
    const { store } = newStore();
    const seen: StoreEvent[] = [];
    const ac = new AbortController();
    const watcher = store.watch({
      tables: ['services'],
      types: ['create', 'update', 'commit'],
      signal: ac.signal,
    });
    const reader = (async () => {
      for await (const e of watcher) seen.push(e);
    })();
    let seenDuringTx = -1;
    const r = await store.update((tx) => {
      const created = tx.services.create(makeService(tx.newId(), makeSpec('web')));
      seenDuringTx = seen.length;
      return created;
    });
    expect(seenDuringTx).toBe(0);
    if (!r.ok) throw r.error;
    const refused = await store.update((tx) =>
      tx.services.create(makeService(tx.newId(), makeSpec('web'))),
    );
    expect(refused.ok).toBe(false);
    await store.update((tx) => tx.nodes.create(makeNode('n1')));
    ac.abort();
    await reader;
    expect(seen.map((e) => e.type)).toEqual(['create', 'commit', 'commit']);
    const first = seen[0];
    expect(first?.type === 'create' && first.object.ID).toBe(r.value.ID);
  });

  it('survives a watch filter that throws, failing only that watcher', async () => {
    const { store } = newStore();
    const bad = store.watch({
      match: () => {
        throw new Error('boom');
      },
    });
    const r = await store.update((tx) => tx.nodes.create(makeNode('n1')));
    expect(r.ok).toBe(true);
    await expect(bad[Symbol.asyncIterator]().next()).rejects.toThrow(/watch filter threw/);
  });

  it('cuts off a watcher that falls too far behind', async () => {
    const { store } = newStore();
    const w = store.watch({ maxQueue: 2 });
    for (let i = 0; i < 3; i++) await store.update((tx) => tx.nodes.create(makeNode(`n${i}`)));
    const it = w[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(/fell 2 events behind/);
  });

  it('round-trips snapshot and restore exactly, and tells watchers to resync', async () => {
    const { store } = newStore();
    const s = await createService(store, 'web');
    await store.update((tx) => {
      tx.nodes.create(makeNode('n1', { labels: { z: 'x' } }));
      tx.tasks.create(makeTask('t1', s, { nodeId: 'n1' }));
    });
    const snap = store.snapshot();
    const other = newStore(2).store;
    const w = other.watch();
    other.restore(snap);
    expect(other.snapshot()).toEqual(snap);
    expect(other.index).toBe(store.index);
    expect(
      other.view((tx) => tx.tasks.find({ by: 'nodeId', nodeId: 'n1' })).map((t) => t.ID),
    ).toEqual(['t1']);
    const first = await w[Symbol.asyncIterator]().next();
    expect(first.value).toEqual({ type: 'reset', index: 2 });
    w.close();
  });

  it('is deterministic: the same entries give byte-equal snapshots (property)', async () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('svc' as const), name: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ k: fc.constant('scale' as const), n: fc.nat(5) }),
      fc.record({ k: fc.constant('node' as const), id: fc.constantFrom('n1', 'n2', 'n3') }),
      fc.record({ k: fc.constant('task' as const), slot: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ k: fc.constant('rm' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), fc.nat(), async (ops, seed) => {
        const { store, proposer } = newStore(seed);
        for (const o of ops) {
          await store.update((tx) => {
            const services = tx.services.find();
            if (o.k === 'svc') tx.services.create(makeService(tx.newId(), makeSpec(o.name)));
            else if (o.k === 'node') tx.nodes.create(makeNode(o.id));
            else if (o.k === 'scale' && services[0]) {
              const sv = services[0];
              tx.services.update({
                ...sv,
                Spec: { ...sv.Spec, Mode: { Replicated: { Replicas: o.n } } },
              });
            } else if (o.k === 'task' && services[0]) {
              tx.tasks.create(makeTask(tx.newId(), services[0], { slot: o.slot }));
            } else if (o.k === 'rm') {
              const tasks = tx.tasks.find();
              const victim = tasks[o.pick % Math.max(1, tasks.length)];
              if (victim) tx.tasks.delete(victim.ID);
            }
          });
        }
        const replica = new MemoryStore();
        for (const e of proposer.log) replica.apply(e);
        expect(Buffer.from(replica.snapshot()).equals(Buffer.from(store.snapshot()))).toBe(true);
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('keeps no results for entries proposed by other managers', async () => {
    const { store, proposer } = newStore();
    await createService(store, 'web');
    const follower = new MemoryStore();
    for (const e of proposer.log) follower.apply(e);
    expect((follower as unknown as { results: Map<string, unknown> }).results.size).toBe(0);
    expect((store as unknown as { results: Map<string, unknown> }).results.size).toBe(0);
  });

  it('fails a malformed entry the same way everywhere, without changing anything', () => {
    const store = new MemoryStore();
    const r = store.apply({
      index: 1,
      term: 1,
      data: new TextEncoder().encode('{"v":1,"actions":[{"kind":"x"}]}'),
    });
    expect(r.ok).toBe(false);
    expect(store.view((tx) => tx.services.find())).toEqual([]);
  });
});

describe('memory store replay', () => {
  it('restoring a snapshot then applying the rest equals applying everything', async () => {
    const { store, proposer } = newStore(3);
    const s = await createService(store, 'web');
    for (let i = 0; i < 10; i++) {
      await store.update((tx) => tx.tasks.create(makeTask(`t${i}`, s, { slot: i + 1 })));
    }
    const cut = 4;
    const partial = new MemoryStore();
    for (const e of proposer.log.slice(0, cut)) partial.apply(e);
    const resumed = new MemoryStore();
    resumed.restore(partial.snapshot());
    for (const e of proposer.log.slice(cut)) resumed.apply(e);
    expect(Buffer.from(resumed.snapshot()).equals(Buffer.from(store.snapshot()))).toBe(true);
  });
});
