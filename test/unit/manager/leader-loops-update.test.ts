import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Node, Service, ServiceSpec, Task } from '../../../src/api/index.js';
import { ControlApi } from '../../../src/manager/controlapi/control-api.js';
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

const soon = { timeoutMs: 5_000, intervalMs: 2 };

/** Plays the workers: assigned tasks run (or fail, for `bad` images), stopped ones shut down. */
function fakeWorkers(store: MemoryStore): () => void {
  let stopped = false;
  const tick = async (): Promise<void> => {
    while (!stopped) {
      const tasks = store.view((tx) => tx.tasks.find({ by: 'all' }));
      const changes: Task[] = [];
      const now = new Date().toISOString();
      for (const t of tasks) {
        const st = t.Status.State;
        const terminal = ['complete', 'failed', 'shutdown', 'rejected'].includes(st);
        if (terminal) continue;
        if (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') {
          if (st === 'running' || st === 'assigned')
            changes.push({
              ...t,
              Status: { Timestamp: now, State: 'shutdown', Message: 'shutdown' },
            });
        } else if (t.DesiredState === 'running' && st === 'assigned') {
          const bad = t.Spec.ContainerSpec.Image.endsWith(':bad');
          changes.push({
            ...t,
            Status: bad
              ? { Timestamp: now, State: 'failed', Message: 'started', Err: 'unhealthy container' }
              : { Timestamp: now, State: 'running', Message: 'started' },
          });
        }
      }
      if (changes.length > 0) {
        await store.update((tx) => {
          for (const c of changes) {
            const cur = tx.tasks.get(c.ID);
            if (cur && cur.Status.State === tasks.find((x) => x.ID === c.ID)?.Status.State)
              tx.tasks.update({ ...cur, Status: c.Status });
          }
        });
      }
      await new Promise((r) => setTimeout(r, 3));
    }
  };
  void tick();
  return () => (stopped = true);
}

function spec(image: string, failureAction: 'pause' | 'rollback' = 'pause'): ServiceSpec {
  return {
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: image }, RestartPolicy: { Condition: 'none' } },
    Mode: { Replicated: { Replicas: 4 } },
    UpdateConfig: {
      Parallelism: 1,
      Monitor: 20_000_000,
      Order: 'start-first',
      FailureAction: failureAction,
    },
    RollbackConfig: { Parallelism: 0, Monitor: 0 },
  };
}

describe('LeaderLoops run the rolling updater', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  async function cluster(): Promise<{ store: MemoryStore; api: ControlApi; svc: () => Service }> {
    const store = new MemoryStore();
    store.setProposer(new InMemoryProposer(store));
    await store.update((tx) => {
      tx.nodes.create(node('n1'));
      tx.nodes.create(node('n2'));
    });
    cleanups.push(fakeWorkers(store));
    const api = new ControlApi(store);
    await api.createService(spec('app:1'));
    return { store, api, svc: () => api.getService('web') };
  }

  const liveImages = (store: MemoryStore): string[] =>
    store
      .view((tx) => tx.tasks.find({ by: 'all' }))
      .filter((t) => t.DesiredState === 'running' && t.Status.State === 'running')
      .map((t) => t.Spec.ContainerSpec.Image)
      .sort();

  it('an update survives a leader change: the next leader finishes it from the store', async () => {
    const { store, api, svc } = await cluster();
    const first = new LeaderLoops({ store, logger: pino({ enabled: false }) });
    cleanups.push(() => first.stop());
    first.start();
    await until(() => liveImages(store).length === 4, { ...soon, what: '4 running' });

    await api.updateService('web', svc().Version.Index, spec('app:2'));
    await until(() => liveImages(store).filter((i) => i === 'app:2').length >= 1, {
      ...soon,
      what: 'first slot updated',
    });
    // The leader goes away mid-update; its state is only what it wrote through raft.
    first.stop();
    await first.settled();
    expect(svc().UpdateStatus?.State).toBe('updating');
    expect(liveImages(store).filter((i) => i === 'app:1').length).toBeGreaterThan(0);

    const second = new LeaderLoops({ store, logger: pino({ enabled: false }) });
    cleanups.push(() => second.stop());
    second.start();
    await until(() => svc().UpdateStatus?.State === 'completed', {
      ...soon,
      what: 'update completed',
    });
    expect(liveImages(store)).toEqual(['app:2', 'app:2', 'app:2', 'app:2']);
    expect(svc().UpdateStatus?.Message).toBe('update completed');
    expect(svc().PreviousSpec?.TaskTemplate.ContainerSpec.Image).toBe('app:1');
    await second.settled();
  });

  it('rolls back a failing update and then a manual rollback returns to the new spec', async () => {
    const { store, api, svc } = await cluster();
    const loops = new LeaderLoops({ store, logger: pino({ enabled: false }) });
    cleanups.push(() => loops.stop());
    loops.start();
    await until(() => liveImages(store).length === 4, { ...soon, what: '4 running' });

    await api.updateService('web', svc().Version.Index, spec('app:bad', 'rollback'));
    await until(() => svc().UpdateStatus?.State === 'rollback_completed', {
      ...soon,
      what: 'rolled back',
    });
    expect(svc().Spec.TaskTemplate.ContainerSpec.Image).toBe('app:1');
    expect(liveImages(store)).toEqual(['app:1', 'app:1', 'app:1', 'app:1']);

    await expect(api.rollbackService('web', svc().Version.Index - 1)).rejects.toThrow(
      /update out of sequence/,
    );
    await api.rollbackService('web', svc().Version.Index);
    expect(svc().UpdateStatus).toMatchObject({
      State: 'rollback_started',
      Message: 'manually requested rollback',
    });
    await loops.settled();
  });

  it('a rollback without a previous spec is refused and changes nothing', async () => {
    const { api, svc } = await cluster();
    const before = svc();
    await expect(api.rollbackService('web', before.Version.Index)).rejects.toThrow(
      'service web does not have a previous spec',
    );
    expect(svc()).toEqual(before);
  });
});
