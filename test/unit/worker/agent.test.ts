import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  dispatchSubjects,
  type AssignmentMessage,
  type DeliveredFile,
  type HeartbeatReply,
  type NetworkView,
  type RegisterReply,
  type StatusBatch,
} from '../../../src/api/dispatch.js';
import { ErrorCode } from '../../../src/api/errors.js';
import type { NodeRole, TaskState } from '../../../src/api/index.js';
import { Agent, WorkerFiles, type AgentConfig } from '../../../src/worker/index.js';
import { decodeJson, encodeJson, type WorkerBus } from '../../../src/worker/bus.js';
import { FakeExecutor, task } from './fixtures.js';

const NODE = 'n1';
const toNode = (topic: string) => dispatchSubjects.toNode(NODE, topic);
const fromNode = (topic: string) => dispatchSubjects.fromNode(NODE, topic);

type Answer = (body: unknown) => unknown;

/**
 * The managers' side of the NATS session in memory: records what the agent publishes and
 * requests, answers requests per topic (an answer that throws is a failed request; a topic
 * without one times out on the agent's clock), and delivers messages to the agent.
 */
class FakeBus implements WorkerBus {
  open = false;
  readonly published: { subject: string; body: unknown }[] = [];
  readonly requests: { subject: string; body: unknown; timeoutMs: number }[] = [];
  readonly answers = new Map<string, Answer>();
  private readonly handlers = new Map<string, Set<(data: Uint8Array) => void>>();

  connect(): Promise<void> {
    this.open = true;
    return Promise.resolve();
  }
  isOpen(): boolean {
    return this.open;
  }
  publish(subject: string, data: Uint8Array): void {
    this.published.push({ subject, body: decodeJson(data) });
  }
  subscribe(subject: string, handler: (data: Uint8Array) => void): () => void {
    const set = this.handlers.get(subject) ?? new Set();
    set.add(handler);
    this.handlers.set(subject, set);
    return () => set.delete(handler);
  }
  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const body = decodeJson(data);
    this.requests.push({ subject, body, timeoutMs });
    const answer = this.answers.get(subject.split('.').at(-1) ?? '');
    if (!answer) {
      await new Promise((r) => setTimeout(r, timeoutMs));
      throw new Error('TIMEOUT');
    }
    return encodeJson(await answer(body));
  }
  close(): Promise<void> {
    this.open = false;
    return Promise.resolve();
  }

  deliver(subject: string, body: unknown): void {
    for (const h of this.handlers.get(subject) ?? []) h(encodeJson(body));
  }
  subscribed(): string[] {
    return [...this.handlers].filter(([, hs]) => hs.size > 0).map(([s]) => s);
  }
  requestsOn(topic: string): unknown[] {
    return this.requests.filter((r) => r.subject === fromNode(topic)).map((r) => r.body);
  }
  publishedOn(topic: string): unknown[] {
    return this.published.filter((p) => p.subject === fromNode(topic)).map((p) => p.body);
  }
  statusBatches(): StatusBatch[] {
    return this.publishedOn('status') as StatusBatch[];
  }
}

class RecordingFiles extends WorkerFiles {
  readonly sets: { secrets: string[]; configs: string[] }[] = [];
  override set(
    secrets: ReadonlyMap<string, DeliveredFile>,
    configs: ReadonlyMap<string, DeliveredFile>,
  ): void {
    this.sets.push({ secrets: [...secrets.keys()], configs: [...configs.keys()] });
    super.set(secrets, configs);
  }
}

const registered = (sessionId: string, extra: Partial<RegisterReply> = {}): Answer => {
  return () => ({ sessionId, heartbeatPeriodMs: 1_000, ...extra }) satisfies RegisterReply;
};
const complete = (sessionId: string, seq: number, ids: string[]): AssignmentMessage => ({
  type: 'complete',
  sessionId,
  seq,
  tasks: ids.map((id) => task(id)),
});
const incremental = (
  sessionId: string,
  seq: number,
  updated: string[],
  removed: string[] = [],
): AssignmentMessage => ({
  type: 'incremental',
  sessionId,
  seq,
  updated: updated.map((id) => task(id)),
  removed,
});

let stateDir: string;
let agent: Agent | undefined;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tsswarm-agent-'));
  vi.useFakeTimers();
});

afterEach(async () => {
  // A register still backing off waits on the fake clock: move it on while the agent stops.
  const stopping = agent?.stop();
  await vi.advanceTimersByTimeAsync(5_000);
  await stopping;
  agent = undefined;
  vi.useRealTimers();
  await rm(stateDir, { recursive: true, force: true });
});

interface Setup {
  roles?: NodeRole[];
  views?: NetworkView[];
  files?: WorkerFiles;
}

/** An agent on a fake bus whose register answers session s1 unless the test says otherwise. */
async function start(bus = new FakeBus(), setup: Setup = {}) {
  if (!bus.answers.has('register')) bus.answers.set('register', registered('s1'));
  const exec = new FakeExecutor();
  const config: AgentConfig = {
    nodeId: NODE,
    servers: [],
    caPem: '',
    certPem: '',
    keyPem: '',
    description: {
      Hostname: 'n1',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { Labels: {} },
    },
    addr: '10.0.0.1',
    stateDir,
    statusBatchMs: 10,
    requestTimeoutMs: 500,
    ...(setup.roles ? { onRole: (role: NodeRole) => setup.roles?.push(role) } : {}),
  };
  const onView = setup.views ? (v: NetworkView) => setup.views?.push(v) : undefined;
  agent = new Agent(config, exec, pino({ enabled: false }), onView, setup.files, bus);
  await agent.start();
  await vi.advanceTimersByTimeAsync(0);
  return { bus, exec, agent };
}

/** Every state reported for `taskId`, across the batches published so far. */
function reported(bus: FakeBus, taskId: string): TaskState[] {
  return bus
    .statusBatches()
    .flatMap((b) => b.updates)
    .filter((u) => u.taskId === taskId)
    .map((u) => u.status.State);
}

describe('Agent registration', () => {
  it('connects, subscribes to its own subjects and registers with its description', async () => {
    const roles: NodeRole[] = [];
    const { bus } = await start(new FakeBus(), { roles, views: [] });
    expect(bus.open).toBe(true);
    expect(bus.subscribed().sort()).toEqual(
      [toNode('assignments'), toNode('logs'), toNode('network')].sort(),
    );
    expect(bus.requests).toEqual([
      {
        subject: fromNode('register'),
        body: { nodeId: NODE, description: expect.any(Object), addr: '10.0.0.1' },
        timeoutMs: 500,
      },
    ]);
    expect(roles).toEqual([]);
  });

  it('tells the role the managers want at register', async () => {
    const roles: NodeRole[] = [];
    const bus = new FakeBus();
    bus.answers.set('register', registered('s1', { role: 'manager' }));
    await start(bus, { roles });
    expect(roles).toEqual(['manager']);
  });

  it('retries a failed register with a doubling delay, capped at 2 s', async () => {
    const bus = new FakeBus();
    let refusals = 6;
    bus.answers.set('register', () => {
      if (refusals-- > 0) throw new Error('no responders');
      return { sessionId: 's1', heartbeatPeriodMs: 1_000 };
    });
    await start(bus);
    const attempts = () => bus.requestsOn('register').length;
    expect(attempts()).toBe(1);
    // 100, 200, 400, 800, 1600, then 2000 (capped) ms between attempts.
    for (const delayMs of [100, 200, 400, 800, 1_600, 2_000]) {
      const before = attempts();
      await vi.advanceTimersByTimeAsync(delayMs - 1);
      expect(attempts()).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(attempts()).toBe(before + 1);
    }
    // Registered: the next request is a heartbeat, not another register.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts()).toBe(7);
    expect(bus.requestsOn('heartbeat')).toEqual([{ sessionId: 's1' }]);
  });
});

describe('Agent heartbeats', () => {
  it('beats at the period the dispatcher gives, and follows a new period', async () => {
    const roles: NodeRole[] = [];
    const bus = new FakeBus();
    const period = { ms: 3_000 };
    bus.answers.set(
      'heartbeat',
      () => ({ ok: true, heartbeatPeriodMs: period.ms, role: 'worker' }) satisfies HeartbeatReply,
    );
    await start(bus, { roles });
    const beats = () => bus.requestsOn('heartbeat').length;
    await vi.advanceTimersByTimeAsync(999);
    expect(beats()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(bus.requestsOn('heartbeat')).toEqual([{ sessionId: 's1' }]);
    expect(roles).toEqual(['worker']);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(beats()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats()).toBe(2);
  });

  it('keeps beating after a heartbeat without an answer, in the same session', async () => {
    const bus = new FakeBus();
    await start(bus);
    // No heartbeat answer: each request times out after 500 ms, then the next is 1 s later.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(bus.requestsOn('heartbeat')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(bus.requestsOn('heartbeat')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(bus.requestsOn('heartbeat')).toEqual([{ sessionId: 's1' }, { sessionId: 's1' }]);
    expect(bus.requestsOn('register')).toHaveLength(1);
  });
});

describe('Agent assignments', () => {
  it('runs the complete set it gets on connect, with the secrets delivered with it', async () => {
    const files = new RecordingFiles();
    const { bus, exec } = await start(new FakeBus(), { files });
    bus.deliver(toNode('assignments'), {
      ...complete('s1', 1, ['t1', 't2']),
      secrets: [{ ID: 'sec1', Name: 'pw', Data: 'cHc=' }],
    });
    await vi.advanceTimersByTimeAsync(10);
    expect([...exec.containers.values()].map((c) => [c.taskId, c.running])).toEqual([
      ['t1', true],
      ['t2', true],
    ]);
    expect(files.sets).toEqual([{ secrets: ['sec1'], configs: [] }]);
  });

  it('keeps a complete set that overtakes the register reply until the session is known', async () => {
    const bus = new FakeBus();
    let answer!: (reply: RegisterReply) => void;
    bus.answers.set('register', () => new Promise<RegisterReply>((r) => (answer = r)));
    const { exec } = await start(bus);
    bus.deliver(toNode('assignments'), complete('s1', 1, ['t1']));
    await vi.advanceTimersByTimeAsync(10);
    expect(exec.calls).toEqual([]);
    answer({ sessionId: 's1', heartbeatPeriodMs: 1_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(exec.calls).toEqual(['create t1', 'start c1']);
  });

  it('applies incremental changes in order; a gap in the numbers asks for a resync', async () => {
    const { bus, exec } = await start();
    const running = () =>
      [...exec.containers.values()]
        .filter((c) => c.running)
        .map((c) => c.taskId)
        .sort();
    bus.deliver(toNode('assignments'), complete('s1', 1, ['t1']));
    bus.deliver(toNode('assignments'), incremental('s1', 2, ['t2']));
    await vi.advanceTimersByTimeAsync(0);
    expect(running()).toEqual(['t1', 't2']);
    expect(bus.publishedOn('resync')).toEqual([]);

    // Message 3 is lost: 4 is not applied, the agent asks for the whole set again.
    bus.deliver(toNode('assignments'), incremental('s1', 4, ['t3'], ['t1']));
    await vi.advanceTimersByTimeAsync(0);
    expect(running()).toEqual(['t1', 't2']);
    expect(bus.publishedOn('resync')).toEqual([{ sessionId: 's1', lastSeq: 2 }]);

    // The resync's complete set carries everything, and numbering goes on from it.
    bus.deliver(toNode('assignments'), complete('s1', 5, ['t2', 't3']));
    bus.deliver(toNode('assignments'), incremental('s1', 6, ['t4']));
    await vi.advanceTimersByTimeAsync(0);
    expect(running()).toEqual(['t2', 't3', 't4']);
    // A late or repeated message changes nothing.
    bus.deliver(toNode('assignments'), incremental('s1', 6, ['t5']));
    await vi.advanceTimersByTimeAsync(0);
    expect(running()).toEqual(['t2', 't3', 't4']);
    expect(bus.publishedOn('resync')).toHaveLength(1);
  });

  it('ignores messages of another session and malformed ones', async () => {
    const { bus, exec } = await start();
    bus.deliver(toNode('assignments'), complete('old', 1, ['t1']));
    bus.deliver(toNode('assignments'), { type: 'complete', seq: 'x' });
    await vi.advanceTimersByTimeAsync(10);
    expect(exec.calls).toEqual([]);
  });

  it('hands network views to their receiver', async () => {
    const views: NetworkView[] = [];
    const { bus } = await start(new FakeBus(), { views });
    const view: NetworkView = {
      sessionId: 's1',
      seq: 1,
      networks: [],
      services: [],
      endpoints: [],
    };
    bus.deliver(toNode('network'), view);
    expect(views).toEqual([view]);
  });
});

describe('Agent status', () => {
  it('sends the states of all tasks in one batch per batch period', async () => {
    const { bus } = await start();
    bus.deliver(toNode('assignments'), complete('s1', 1, ['t1', 't2']));
    await vi.advanceTimersByTimeAsync(9);
    expect(bus.statusBatches()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(bus.statusBatches()).toHaveLength(1);
    expect(bus.statusBatches()[0]?.sessionId).toBe('s1');
    for (const id of ['t1', 't2']) {
      expect(reported(bus, id)).toEqual(['accepted', 'preparing', 'ready', 'starting', 'running']);
    }
  });

  it('batches a later change on its own, and sends what is queued when it stops', async () => {
    const { bus, exec } = await start();
    bus.deliver(toNode('assignments'), complete('s1', 1, ['t1']));
    await vi.advanceTimersByTimeAsync(10);
    exec.exit('c1', 3);
    await vi.advanceTimersByTimeAsync(10);
    expect(bus.statusBatches()).toHaveLength(2);
    expect(bus.statusBatches()[1]?.updates.map((u) => u.status.State)).toEqual(['failed']);

    bus.deliver(toNode('assignments'), incremental('s1', 2, ['t2']));
    await vi.advanceTimersByTimeAsync(0);
    await agent?.stop();
    agent = undefined;
    expect(reported(bus, 't2')).toContain('running');
    expect(bus.open).toBe(false);
  });
});

describe('Agent reconnect', () => {
  it('registers again when the dispatcher no longer knows the session, and resends every status', async () => {
    const bus = new FakeBus();
    let session = 's1';
    bus.answers.set('register', () => ({ sessionId: session, heartbeatPeriodMs: 1_000 }));
    const { exec } = await start(bus);
    bus.deliver(toNode('assignments'), complete('s1', 1, ['t1']));
    await vi.advanceTimersByTimeAsync(10);
    expect(reported(bus, 't1').at(-1)).toBe('running');

    // A new leader: it does not know s1, the next register opens s2.
    session = 's2';
    bus.answers.set(
      'heartbeat',
      () => ({ ok: false, reason: 'unknown-session' }) satisfies HeartbeatReply,
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(bus.requestsOn('register')).toHaveLength(2);
    const last = bus.statusBatches().at(-1);
    expect(last?.sessionId).toBe('s2');
    expect(last?.updates.map((u) => [u.taskId, u.status.State])).toEqual([['t1', 'running']]);

    // The old session's messages no longer apply; the new one numbers from its complete set.
    bus.deliver(toNode('assignments'), incremental('s1', 2, ['t9']));
    bus.deliver(toNode('assignments'), complete('s2', 1, ['t1', 't2']));
    await vi.advanceTimersByTimeAsync(10);
    expect(exec.calls.filter((c) => c.startsWith('create'))).toEqual(['create t1', 'create t2']);
    expect(bus.publishedOn('resync')).toEqual([]);

    // Heartbeats go on in the new session.
    bus.answers.set('heartbeat', () => ({ ok: true, heartbeatPeriodMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(bus.requestsOn('heartbeat').at(-1)).toEqual({ sessionId: 's2' });
  });
});

describe('Agent promotion', () => {
  it('says why a promotion failed, with a code', async () => {
    const { bus } = await start();
    bus.answers.set('promote', () => ({ ok: false, message: 'not now' }));
    const req = {
      publicKeyPem: '',
      ports: { api: 1, raft: 2, nats: 3, natsCluster: 4 },
    };
    await expect(agent?.requestPromotion(req)).rejects.toMatchObject({
      code: ErrorCode.PermissionDenied,
      message: 'the leader refused the promotion: not now',
    });
    await bus.close();
    await expect(agent?.requestPromotion(req)).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
  });
});
