import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../../src/api/index.js';
import { AssignmentTracker, Worker } from '../../../src/worker/index.js';
import { until } from '../../helpers/until.js';
import { FakeExecutor, task } from './fixtures.js';

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
