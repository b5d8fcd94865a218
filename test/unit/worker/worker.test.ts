import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus } from '../../../src/api/index.js';
import {
  AssignmentTracker,
  Worker,
  type ContainerExit,
  type Executor,
  type TaskContainer,
} from '../../../src/worker/index.js';
import { until } from '../../helpers/until.js';

function task(id: string, desired: Task['DesiredState'] = 'running', version = 1): Task {
  return {
    ID: id,
    Name: `web.1.${id}`,
    Version: { Index: version },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    ServiceID: 's1',
    Slot: 1,
    NodeID: 'n1',
    Spec: { ContainerSpec: { Image: 'busybox', StopGracePeriod: 0 } },
    Status: { Timestamp: '2026-01-01T00:00:00Z', State: 'assigned', Message: '' },
    DesiredState: desired,
  };
}

/** Containers in memory; `exit(id, code)` ends one as if its process died. */
class FakeExecutor implements Executor {
  containers = new Map<string, TaskContainer & { exit?: (e: ContainerExit) => void }>();
  calls: string[] = [];
  private next = 0;
  list(): Promise<TaskContainer[]> {
    return Promise.resolve([...this.containers.values()].map((c) => ({ ...c })));
  }
  create(t: Task): Promise<string> {
    const id = `c${++this.next}`;
    this.calls.push(`create ${t.ID}`);
    this.containers.set(id, { id, taskId: t.ID, running: false, pid: 0, exitCode: 0 });
    return Promise.resolve(id);
  }
  start(id: string): Promise<number> {
    this.calls.push(`start ${id}`);
    const c = this.containers.get(id)!;
    c.running = true;
    c.pid = 1000 + this.next;
    return Promise.resolve(c.pid);
  }
  wait(id: string): Promise<ContainerExit> {
    const c = this.containers.get(id);
    if (!c || !c.running) return Promise.resolve({ exitCode: c?.exitCode ?? 0 });
    return new Promise((resolve) => (c.exit = resolve));
  }
  stop(id: string): Promise<void> {
    this.calls.push(`stop ${id}`);
    this.exit(id, 143);
    return Promise.resolve();
  }
  remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    this.containers.delete(id);
    return Promise.resolve();
  }
  exit(id: string, code: number): void {
    const c = this.containers.get(id);
    if (!c || !c.running) return;
    c.running = false;
    c.exitCode = code;
    c.exit?.({ exitCode: code });
  }
}

const soon = { timeoutMs: 2_000, intervalMs: 2 };

function setup() {
  const exec = new FakeExecutor();
  const reports: { taskId: string; status: TaskStatus }[] = [];
  const worker = new Worker(
    exec,
    (taskId, status) => reports.push({ taskId, status }),
    pino({ enabled: false }),
  );
  const states = (id: string) => reports.filter((r) => r.taskId === id).map((r) => r.status.State);
  return { exec, worker, reports, states };
}

describe('Worker reconciliation', () => {
  it('drives a new task to running, reports its failure with the exit code', async () => {
    const { exec, worker, reports, states } = setup();
    await worker.reconcile(new Map([['t1', task('t1')]]));
    await until(() => states('t1').includes('running'), { ...soon, what: 't1 running' });
    expect(states('t1')).toEqual(['accepted', 'preparing', 'ready', 'starting', 'running']);
    exec.exit('c1', 137);
    await until(() => states('t1').includes('failed'), { ...soon, what: 't1 failed' });
    const failed = reports.at(-1)!.status;
    expect(failed.Err).toBe('task: non-zero exit (137)');
    expect(failed.ContainerStatus).toMatchObject({ ContainerID: 'c1', ExitCode: 137 });
  });

  it('keeps the last status of each task, and a re-sent set with an older state starts nothing', async () => {
    const { exec, worker, states } = setup();
    await worker.reconcile(
      new Map([
        ['t1', task('t1')],
        ['t2', task('t2')],
      ]),
    );
    await until(() => states('t1').includes('running') && states('t2').includes('running'), {
      ...soon,
      what: 't1 and t2 running',
    });
    exec.exit('c1', 3);
    await until(() => states('t1').includes('failed'), { ...soon, what: 't1 failed' });
    const last = new Map(worker.statuses().map((u) => [u.taskId, u.status]));
    expect(last.get('t1')).toMatchObject({ State: 'failed', ContainerStatus: { ExitCode: 3 } });
    expect(last.get('t2')?.State).toBe('running');
    // A new leader re-sends both tasks as the store last knew them (assigned): nothing restarts.
    await worker.reconcile(
      new Map([
        ['t1', task('t1', 'running', 2)],
        ['t2', task('t2', 'running', 2)],
      ]),
    );
    await worker.settled();
    // The fake executor answers at once: one macrotask lets every step the set caused run.
    await new Promise((r) => setImmediate(r));
    expect(
      exec.calls.filter((c) => c.startsWith('create') || c.startsWith('start')).sort(),
    ).toEqual(['create t1', 'create t2', 'start c1', 'start c2']);
  });

  it('stops a task whose desired state becomes shutdown and removes tasks that leave the set', async () => {
    const { exec, worker, states } = setup();
    await worker.reconcile(new Map([['t1', task('t1')]]));
    await until(() => states('t1').includes('running'), { ...soon, what: 't1 running' });
    await worker.reconcile(new Map([['t1', task('t1', 'shutdown', 2)]]));
    await until(() => states('t1').includes('shutdown'), { ...soon, what: 't1 shutdown' });
    expect(states('t1').filter((s) => s === 'shutdown')).toHaveLength(1);
    await worker.reconcile(new Map());
    await worker.settled();
    expect(exec.containers.size).toBe(0);
  });

  it('removes the container of a task desired remove before it reports the task stopped', async () => {
    const { exec, worker, reports, states } = setup();
    await worker.reconcile(new Map([['t1', task('t1')]]));
    await until(() => states('t1').includes('running'), { ...soon, what: 't1 running' });
    let containersAtShutdown = -1;
    const push = reports.push.bind(reports);
    reports.push = (...items) => {
      if (items.some((i) => i.status.State === 'shutdown'))
        containersAtShutdown = exec.containers.size;
      return push(...items);
    };
    await worker.reconcile(new Map([['t1', task('t1', 'remove', 2)]]));
    await until(() => states('t1').includes('shutdown'), { ...soon, what: 't1 shutdown' });
    expect(containersAtShutdown).toBe(0);
    expect(states('t1').filter((s) => s === 'shutdown')).toHaveLength(1);
  });

  it('removes the container of a finished task as soon as it is desired remove', async () => {
    const { exec, worker, states } = setup();
    await worker.reconcile(new Map([['t1', task('t1')]]));
    await until(() => states('t1').includes('running'), { ...soon, what: 't1 running' });
    exec.exit('c1', 0);
    await until(() => states('t1').includes('complete'), { ...soon, what: 't1 complete' });
    await worker.reconcile(new Map([['t1', task('t1', 'remove', 2)]]));
    await until(() => exec.containers.size === 0, { ...soon, what: 'every container removed' });
    expect(states('t1')).not.toContain('shutdown');
  });

  it('waits with a task desired ready (restart delay) until it is desired running', async () => {
    const { exec, worker, states } = setup();
    await worker.reconcile(new Map([['t1', task('t1', 'ready')]]));
    await until(() => states('t1').includes('ready'), { ...soon, what: 't1 ready' });
    expect(exec.calls).toEqual(['create t1']);
    await worker.reconcile(new Map([['t1', task('t1', 'running', 2)]]));
    await until(() => states('t1').includes('running'), { ...soon, what: 't1 running' });
  });

  it('adopts a running container of a known task instead of starting another', async () => {
    const { exec, worker, states } = setup();
    exec.containers.set('old', { id: 'old', taskId: 't1', running: true, pid: 42, exitCode: 0 });
    const running = { ...task('t1'), Status: { ...task('t1').Status, State: 'running' as const } };
    await worker.reconcile(new Map([['t1', running]]), true);
    await new Promise((r) => setTimeout(r, 20));
    expect(exec.calls).toEqual([]);
    expect(states('t1')).toEqual([]);
    exec.exit('old', 0);
    await until(() => states('t1').includes('complete'), { ...soon, what: 't1 complete' });
  });

  it('removes containers of tasks it no longer has', async () => {
    const { exec, worker } = setup();
    exec.containers.set('gone', { id: 'gone', taskId: 'tx', running: false, pid: 0, exitCode: 0 });
    await worker.reconcile(new Map());
    await worker.settled();
    expect(exec.calls).toContain('remove gone');
  });
});

describe('AssignmentTracker', () => {
  it('applies in order, ignores stale messages and reports a gap', () => {
    const tr = new AssignmentTracker();
    tr.reset('s');
    const a = task('a');
    expect(tr.apply({ type: 'complete', sessionId: 's', seq: 1, tasks: [a] })).toMatchObject({
      type: 'apply',
    });
    expect(
      tr.apply({ type: 'incremental', sessionId: 'other', seq: 2, updated: [], removed: [] }),
    ).toEqual({ type: 'stale' });
    expect(
      tr.apply({ type: 'incremental', sessionId: 's', seq: 3, updated: [], removed: ['a'] }),
    ).toEqual({ type: 'gap', lastSeq: 1 });
    const r = tr.apply({
      type: 'incremental',
      sessionId: 's',
      seq: 2,
      updated: [],
      removed: ['a'],
    });
    expect(r.type === 'apply' ? r.tasks.size : -1).toBe(0);
    expect(tr.apply({ type: 'complete', sessionId: 's', seq: 2, tasks: [a] })).toEqual({
      type: 'stale',
    });
    expect(tr.apply({ type: 'complete', sessionId: 's', seq: 5, tasks: [a] })).toMatchObject({
      type: 'apply',
    });
  });
});
