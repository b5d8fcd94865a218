import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../../../src/api/index.js';
import {
  dispatchSubjects,
  type AssignmentMessage,
  type RegisterReply,
} from '../../../../src/api/dispatch.js';
import {
  AssignmentStream,
  Dispatcher,
  decodeJson,
  encodeJson,
  type Bus,
  type BusMessage,
} from '../../../../src/manager/dispatcher/index.js';
import { InMemoryProposer, MemoryStore } from '../../../../src/manager/store/index.js';
import { until } from '../../../helpers/until.js';

function task(id: string, nodeId: string, state: Task['Status']['State'], version = 1): Task {
  return {
    ID: id,
    Version: { Index: version },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    ServiceID: 's1',
    Slot: 1,
    NodeID: nodeId,
    Spec: { ContainerSpec: { Image: 'busybox' } },
    Status: { Timestamp: '2026-01-01T00:00:00Z', State: state, Message: '' },
    DesiredState: 'running',
  };
}

describe('AssignmentStream', () => {
  it('numbers a complete set, then only changes, and nothing when nothing changed', () => {
    const s = new AssignmentStream('sess');
    const a = task('a', 'n1', 'assigned');
    const b = task('b', 'n1', 'assigned');
    const first = s.complete([a, b]);
    expect(first).toMatchObject({ type: 'complete', seq: 1 });
    expect(s.diff([a, b])).toBeUndefined();
    const a2 = { ...a, Version: { Index: 2 }, DesiredState: 'shutdown' as const };
    expect(s.diff([a2])).toEqual({
      type: 'incremental',
      sessionId: 'sess',
      seq: 2,
      updated: [a2],
      removed: ['b'],
    });
    // A resync sends everything again and keeps counting.
    expect(s.complete([a2])).toMatchObject({ type: 'complete', seq: 3, tasks: [a2] });
  });
});

/** A bus that delivers synchronously and records what was published. */
class FakeBus implements Bus {
  published: { subject: string; data: unknown }[] = [];
  private handlers: { subject: string; fn: (m: BusMessage) => void }[] = [];
  publish(subject: string, data: Uint8Array): void {
    this.published.push({ subject, data: decodeJson(data) });
  }
  subscribe(subject: string, fn: (m: BusMessage) => void): () => void {
    const h = { subject, fn };
    this.handlers.push(h);
    return () => (this.handlers = this.handlers.filter((x) => x !== h));
  }
  request(subject: string, body: unknown): Promise<unknown> {
    return new Promise((resolve) => {
      for (const h of this.handlers) {
        h.fn({
          subject,
          data: encodeJson(body),
          respond: (d) => {
            resolve(decodeJson(d));
            return true;
          },
        });
      }
    });
  }
  assignments(nodeId: string): AssignmentMessage[] {
    return this.published
      .filter((p) => p.subject === dispatchSubjects.toNode(nodeId, 'assignments'))
      .map((p) => p.data as AssignmentMessage);
  }
}

const soon = { timeoutMs: 2_000, intervalMs: 5 };

describe('Dispatcher', () => {
  let dispatcher: Dispatcher | undefined;
  afterEach(() => dispatcher?.stop());

  async function setup(nowMs: () => number = Date.now) {
    const store = new MemoryStore();
    store.setProposer(new InMemoryProposer(store));
    const bus = new FakeBus();
    dispatcher = new Dispatcher({
      store,
      bus,
      config: { heartbeatPeriodMs: 1000, graceMultiplier: 3, statusBatchMs: 0 },
      logger: pino({ enabled: false }),
      nowMs,
    });
    dispatcher.start();
    const reply = (await bus.request(dispatchSubjects.fromNode('n1', 'register'), {
      nodeId: 'n1',
      addr: '127.0.0.1',
      description: {
        Hostname: 'h1',
        Platform: { Architecture: 'x86_64', OS: 'linux' },
        Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
        Engine: { Labels: {} },
      },
    })) as RegisterReply;
    return { store, bus, sessionId: reply.sessionId };
  }

  it('registers a node as ready and sends it a complete set, then increments in order', async () => {
    const { store, bus, sessionId } = await setup();
    expect(store.view((tx) => tx.nodes.get('n1')?.Status.State)).toBe('ready');
    await until(() => bus.assignments('n1').length === 1, {
      ...soon,
      what: 'assignment message 1 to n1',
    });
    expect(bus.assignments('n1')[0]).toMatchObject({ type: 'complete', seq: 1, tasks: [] });

    await store.update((tx) => {
      const { Version: _v, CreatedAt: _c, UpdatedAt: _u, ...t } = task('t1', 'n1', 'assigned');
      tx.tasks.create(t);
    });
    await until(() => bus.assignments('n1').length === 2, {
      ...soon,
      what: 'assignment message 2 to n1',
    });
    const inc = bus.assignments('n1')[1];
    expect(inc).toMatchObject({ type: 'incremental', seq: 2, sessionId, removed: [] });
    expect(inc?.type === 'incremental' ? inc.updated.map((t) => t.ID) : []).toEqual(['t1']);

    // A resync request (the worker saw a gap) gets a complete set with the next number.
    await bus.request(dispatchSubjects.fromNode('n1', 'resync'), { sessionId, lastSeq: 1 });
    await until(() => bus.assignments('n1').length === 3, {
      ...soon,
      what: 'assignment message 3 to n1',
    });
    expect(bus.assignments('n1')[2]).toMatchObject({ type: 'complete', seq: 3 });
  });

  it('writes batched status reports and refuses backwards moves and other nodes', async () => {
    const { store, bus, sessionId } = await setup();
    await store.update((tx) => {
      for (const [id, node] of [
        ['t1', 'n1'],
        ['t2', 'n2'],
      ] as const) {
        const { Version: _v, CreatedAt: _c, UpdatedAt: _u, ...t } = task(id, node, 'assigned');
        tx.tasks.create(t);
      }
    });
    const status = (state: Task['Status']['State']) => ({
      Timestamp: '2026-01-01T00:00:01Z',
      State: state,
      Message: state,
    });
    for (const h of [
      { taskId: 't1', status: status('running') },
      { taskId: 't1', status: status('starting') },
      { taskId: 't2', status: status('running') },
    ]) {
      await Promise.race([
        bus.request(dispatchSubjects.fromNode('n1', 'status'), { sessionId, updates: [h] }),
        new Promise((r) => setTimeout(r, 5)),
      ]);
    }
    await dispatcher?.drain();
    expect(store.view((tx) => tx.tasks.get('t1')?.Status.State)).toBe('running');
    expect(store.view((tx) => tx.tasks.get('t2')?.Status.State)).toBe('assigned');
  });

  it('marks a node down once it misses heartbeats for the grace period', async () => {
    let now = 1_000_000;
    const { store, bus, sessionId } = await setup(() => now);
    now += 2000;
    const hb = (await bus.request(dispatchSubjects.fromNode('n1', 'heartbeat'), { sessionId })) as {
      ok: boolean;
    };
    expect(hb.ok).toBe(true);
    now += 2999;
    await dispatcher?.checkHeartbeats();
    expect(store.view((tx) => tx.nodes.get('n1')?.Status.State)).toBe('ready');
    now += 2;
    await dispatcher?.checkHeartbeats();
    expect(store.view((tx) => tx.nodes.get('n1')?.Status.State)).toBe('down');
    const again = (await bus.request(dispatchSubjects.fromNode('n1', 'heartbeat'), {
      sessionId,
    })) as { ok: boolean; reason?: string };
    expect(again).toEqual({ ok: false, reason: 'unknown-session' });
  });
});
