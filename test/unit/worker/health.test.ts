import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthConfig, Task, TaskStatus } from '../../../src/api/index.js';
import {
  HealthMonitor,
  probeCommand,
  type HealthState,
  type ProbeOutcome,
} from '../../../src/worker/health-monitor.js';
import { TaskController } from '../../../src/worker/task-controller.js';
import type { ContainerExit, Executor, TaskContainer } from '../../../src/worker/index.js';
import { until } from '../../helpers/until.js';

const MS = 1_000_000;

const soon = { timeoutMs: 3_000, intervalMs: 2 };

describe('probeCommand', () => {
  it('runs CMD as is and CMD-SHELL through sh -c; NONE and [] run nothing', () => {
    expect(probeCommand(['CMD', 'wget', '-q', 'x'])).toEqual(['wget', '-q', 'x']);
    expect(probeCommand(['CMD-SHELL', 'test -f /ok'])).toEqual(['/bin/sh', '-c', 'test -f /ok']);
    expect(probeCommand(['NONE'])).toBeUndefined();
    expect(probeCommand([])).toBeUndefined();
  });
});

describe('HealthMonitor', () => {
  const monitors: HealthMonitor[] = [];
  afterEach(() => {
    for (const m of monitors.splice(0)) m.stop();
  });

  function run(
    config: HealthConfig,
    results: (n: number) => ProbeOutcome,
    startedAtMs = Date.now(),
  ) {
    const states: HealthState[] = [];
    const cmds: string[][] = [];
    let n = 0;
    const m = new HealthMonitor(
      config,
      (cmd) => {
        cmds.push(cmd);
        return Promise.resolve(results(n++));
      },
      (s) => states.push(s),
      startedAtMs,
    );
    monitors.push(m);
    m.start();
    return { states, cmds, m };
  }

  const ok: ProbeOutcome = { exitCode: 0, output: 'ok\n', timedOut: false };
  const bad: ProbeOutcome = { exitCode: 1, output: 'nope\n', timedOut: false };

  it('starting, then healthy at the first success; unhealthy after Retries failures in a row', async () => {
    const { states, cmds } = run(
      { Test: ['CMD-SHELL', 'check'], Interval: 5 * MS, Retries: 2 },
      (n) => (n < 2 ? ok : bad),
    );
    expect(states[0]?.Status).toBe('starting');
    await until(() => states.some((s) => s.Status === 'unhealthy'), { ...soon, what: 'unhealthy' });
    const seq = states.map((s) => `${s.Status}/${s.FailingStreak}`);
    expect(seq.slice(0, 5)).toEqual([
      'starting/0',
      'healthy/0',
      'healthy/0',
      'healthy/1',
      'unhealthy/2',
    ]);
    expect(cmds[0]).toEqual(['/bin/sh', '-c', 'check']);
    const last = states.at(-1)!;
    expect(last.Log.at(-1)).toMatchObject({ ExitCode: 1, Output: 'nope\n' });
    expect(last.Log.length).toBeLessThanOrEqual(5);
  });

  it('does not count failures inside the start period', async () => {
    const { states } = run(
      { Test: ['CMD', 'x'], Interval: 2 * MS, Retries: 1, StartPeriod: 200 * MS },
      () => bad,
    );
    await until(() => states.length >= 4, { ...soon, what: 'three probes' });
    expect(states.slice(0, 4).every((s) => s.Status === 'starting' && s.FailingStreak === 0)).toBe(
      true,
    );
    await until(() => states.some((s) => s.Status === 'unhealthy'), {
      ...soon,
      what: 'unhealthy after the period',
    });
  });

  it('a probe past its timeout is a failure with docker’s message', async () => {
    const { states } = run(
      { Test: ['CMD', 'x'], Interval: 2 * MS, Timeout: 1500 * MS, Retries: 1 },
      () => ({
        exitCode: 137,
        output: '',
        timedOut: true,
      }),
    );
    await until(() => states.some((s) => s.Status === 'unhealthy'), { ...soon, what: 'unhealthy' });
    expect(states.at(-1)!.Log.at(-1)).toMatchObject({
      ExitCode: -1,
      Output: 'Health check exceeded timeout (1.5s)',
    });
  });
});

/** One container whose health probe answers what `healthy` says. */
class HealthExecutor implements Executor {
  healthy = false;
  retries = 2;
  stopped = false;
  health: HealthState[] = [];
  private exit: ((e: ContainerExit) => void) | undefined;
  list(): Promise<TaskContainer[]> {
    return Promise.resolve([]);
  }
  create(): Promise<string> {
    return Promise.resolve('c1');
  }
  start(): Promise<number> {
    return Promise.resolve(4242);
  }
  wait(): Promise<ContainerExit> {
    return new Promise((r) => (this.exit = r));
  }
  stop(): Promise<void> {
    this.stopped = true;
    this.exit?.({ exitCode: 137 });
    return Promise.resolve();
  }
  remove(): Promise<void> {
    return Promise.resolve();
  }
  healthcheck(): Promise<HealthConfig> {
    return Promise.resolve({ Test: ['CMD', 'true'], Interval: 3 * MS, Retries: this.retries });
  }
  probe(): Promise<ProbeOutcome> {
    return Promise.resolve({ exitCode: this.healthy ? 0 : 1, output: '', timedOut: false });
  }
  setHealth(_id: string, h: HealthState | undefined): void {
    if (h) this.health.push(h);
  }
}

function task(): Task {
  return {
    ID: 't1',
    Name: 'web.1.t1',
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    ServiceID: 's1',
    Slot: 1,
    NodeID: 'n1',
    Spec: { ContainerSpec: { Image: 'busybox', StopGracePeriod: 0 } },
    Status: { Timestamp: '2026-01-01T00:00:00Z', State: 'assigned', Message: '' },
    DesiredState: 'running',
  };
}

describe('TaskController with a health check', () => {
  const controllers: TaskController[] = [];
  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.close();
  });

  function start(exec: HealthExecutor) {
    const reports: TaskStatus[] = [];
    const c = new TaskController(
      task(),
      exec,
      (_id, s) => reports.push(s),
      pino({ enabled: false }),
    );
    controllers.push(c);
    void c.kick();
    return reports;
  }

  it('stays starting until the first healthy probe, then runs', async () => {
    const exec = new HealthExecutor();
    exec.retries = 1000;
    const reports = start(exec);
    await until(() => exec.health.length >= 3, { ...soon, what: 'three probes' });
    expect(reports.at(-1)?.State).toBe('starting');
    exec.healthy = true;
    await until(() => reports.at(-1)?.State === 'running', { ...soon, what: 'running' });
    expect(reports.at(-1)?.ContainerStatus?.PID).toBe(4242);
    expect(exec.health.at(-1)?.Status).toBe('healthy');
  });

  it('an adopted container (daemon restart) still starting waits for healthy before running', async () => {
    const exec = new HealthExecutor();
    exec.retries = 1000;
    const reports: TaskStatus[] = [];
    const t = { ...task(), Status: { ...task().Status, State: 'starting' as const } };
    const c = new TaskController(t, exec, (_id, s) => reports.push(s), pino({ enabled: false }), {
      id: 'c1',
      taskId: 't1',
      running: true,
      pid: 4242,
      exitCode: 0,
    });
    controllers.push(c);
    await until(() => exec.health.length >= 2, { ...soon, what: 'probes resumed' });
    expect(reports).toEqual([]);
    exec.healthy = true;
    await until(() => reports.at(-1)?.State === 'running', { ...soon, what: 'running' });
  });

  it('fails an unhealthy task with docker’s error and stops its container', async () => {
    const exec = new HealthExecutor();
    exec.healthy = true;
    const reports = start(exec);
    await until(() => reports.at(-1)?.State === 'running', { ...soon, what: 'running' });
    exec.healthy = false;
    await until(() => reports.at(-1)?.State === 'failed', { ...soon, what: 'failed' });
    expect(reports.at(-1)?.Err).toBe('unhealthy container');
    await until(() => exec.stopped, { ...soon, what: 'container stopped' });
    expect(exec.health.at(-1)?.Status).toBe('unhealthy');
  });
});
