import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../../src/api/index.js';
import { Dispatcher, natsBus } from '../../../src/manager/dispatcher/index.js';
import { nodeClientOptions } from '../../../src/manager/nats/index.js';
import { InMemoryProposer, MemoryStore } from '../../../src/manager/store/index.js';
import {
  Agent,
  type ContainerExit,
  type Executor,
  type TaskContainer,
} from '../../../src/worker/index.js';
import { testPki, type TestPki } from '../../helpers/certs.js';
import { until } from '../../helpers/until.js';
import { NatsLab, type TestManager } from './harness.js';

const binary = await NatsLab.binary();
const ci = process.env['CI'] === 'true';

/** Containers in memory; `exit(taskId, code)` ends a task's container as if its process died. */
class MemoryExecutor implements Executor {
  readonly calls: string[] = [];
  private readonly containers = new Map<
    string,
    TaskContainer & { done?: (e: ContainerExit) => void }
  >();
  list(): Promise<TaskContainer[]> {
    return Promise.resolve([...this.containers.values()].map(({ done: _d, ...c }) => c));
  }
  create(t: Task): Promise<string> {
    this.calls.push(`create ${t.ID}`);
    const id = `c-${t.ID}-${this.calls.length}`;
    this.containers.set(id, { id, taskId: t.ID, running: false, pid: 0, exitCode: 0 });
    return Promise.resolve(id);
  }
  start(id: string): Promise<number> {
    const c = this.containers.get(id)!;
    this.calls.push(`start ${c.taskId}`);
    c.running = true;
    c.pid = 4242;
    return Promise.resolve(c.pid);
  }
  wait(id: string): Promise<ContainerExit> {
    const c = this.containers.get(id);
    if (!c?.running) return Promise.resolve({ exitCode: c?.exitCode ?? 0 });
    return new Promise((resolve) => (c.done = resolve));
  }
  stop(id: string): Promise<void> {
    this.exitContainer(id, 143);
    return Promise.resolve();
  }
  remove(id: string): Promise<void> {
    this.containers.delete(id);
    return Promise.resolve();
  }
  exit(taskId: string, code: number): void {
    for (const c of this.containers.values())
      if (c.taskId === taskId) this.exitContainer(c.id, code);
  }
  private exitContainer(id: string, code: number): void {
    const c = this.containers.get(id);
    if (!c?.running) return;
    c.running = false;
    c.exitCode = code;
    c.done?.({ exitCode: code });
  }
}

// A leader change seen from a worker, on a real nats-server: the old leader's dispatcher goes
// away, a task's exit is reported while no dispatcher listens, a new dispatcher starts from the
// same (replicated) store. The worker re-registers, re-sends what its tasks are now, and does not
// start anything twice when the new leader re-sends the complete set.
describe.skipIf(binary === undefined && !ci)(
  'dispatch across a leader change (needs nats-server)',
  () => {
    let pki: TestPki;
    let lab: NatsLab;
    let server: TestManager;
    let stateDir = '';
    const connections: NatsConnection[] = [];
    const dispatchers: Dispatcher[] = [];
    let agent: Agent | undefined;

    beforeAll(async () => {
      pki = await testPki(['m1', 'w1'], { role: 'manager', workers: ['w1'] });
      lab = new NatsLab(pki);
      server = await lab.manager('m1');
      await server.supervisor.start();
      stateDir = await mkdtemp(join(tmpdir(), 'tsswarm-failover-'));
    }, 30_000);

    afterAll(async () => {
      try {
        await agent?.stop();
        for (const d of dispatchers) d.stop();
        for (const nc of connections) await nc.close().catch(() => undefined);
      } finally {
        await lab.close();
        await rm(stateDir, { recursive: true, force: true });
      }
    });

    const startDispatcher = async (store: MemoryStore): Promise<Dispatcher> => {
      const m = pki.node('m1');
      const nc = await connect(
        nodeClientOptions([server.clientUrl], {
          nodeId: 'm1',
          caPem: pki.ca.certPem,
          certPem: m.certPem,
          keyPem: m.keyPem,
        }),
      );
      connections.push(nc);
      const d = new Dispatcher({
        store,
        bus: natsBus(nc),
        config: { heartbeatPeriodMs: 100, graceMultiplier: 50, statusBatchMs: 0 },
        logger: pino({ enabled: false }),
      });
      d.start();
      dispatchers.push(d);
      return d;
    };

    it('re-sends the current task status to a new leader, and starts nothing twice', async () => {
      const store = new MemoryStore();
      store.setProposer(new InMemoryProposer(store));
      const first = await startDispatcher(store);
      const exec = new MemoryExecutor();
      const w = pki.node('w1');
      agent = new Agent(
        {
          nodeId: 'w1',
          servers: [server.clientUrl],
          caPem: pki.ca.certPem,
          certPem: w.certPem,
          keyPem: w.keyPem,
          description: {
            Hostname: 'w1',
            Platform: { Architecture: 'x86_64', OS: 'linux' },
            Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
            Engine: { Labels: {} },
          },
          addr: '127.0.0.1',
          stateDir,
          statusBatchMs: 0,
          requestTimeoutMs: 500,
        },
        exec,
        pino({ enabled: false }),
      );
      await agent.start();
      await until(() => store.view((tx) => tx.nodes.get('w1'))?.Status.State === 'ready', {
        what: 'w1 registered',
        timeoutMs: 5_000,
      });
      await store.update((tx) => {
        for (const id of ['t1', 't2']) {
          tx.tasks.create({
            ID: id,
            ServiceID: 's1',
            Slot: id === 't1' ? 1 : 2,
            NodeID: 'w1',
            Spec: { ContainerSpec: { Image: 'busybox' } },
            Status: { Timestamp: '2026-01-01T00:00:00Z', State: 'assigned', Message: '' },
            DesiredState: 'running',
          });
        }
      });
      const stateOf = (id = 't1') => store.view((tx) => tx.tasks.get(id))?.Status;
      await until(() => stateOf('t1')?.State === 'running' && stateOf('t2')?.State === 'running', {
        what: 't1 and t2 running',
        timeoutMs: 5_000,
      });

      // The leader goes; the container exits while nobody listens to the worker.
      first.stop();
      exec.exit('t1', 3);
      await until(
        () => agent?.worker.statuses().find((u) => u.taskId === 't1')?.status.State === 'failed',
        { what: 'the worker saw the exit', timeoutMs: 5_000 },
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(stateOf()?.State).toBe('running');

      await startDispatcher(store);
      const failed = await until(() => (stateOf()?.State === 'failed' ? stateOf() : undefined), {
        what: 'the new leader learns the exit',
        timeoutMs: 10_000,
      });
      expect(failed.ContainerStatus?.ExitCode).toBe(3);
      expect(failed.Err).toBe('task: non-zero exit (3)');
      // The new leader's complete set named both tasks again: neither got a second container.
      expect(stateOf('t2')?.State).toBe('running');
      expect(exec.calls.sort()).toEqual(['create t1', 'create t2', 'start t1', 'start t2']);
    });
  },
);
