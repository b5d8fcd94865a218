import type { Logger } from 'pino';
import {
  DEFAULT_STOP_GRACE_PERIOD_NS,
  isTerminalTaskState,
  NS_PER_SECOND,
  taskStateOrder,
  type Task,
  type TaskState,
  type TaskStatus,
} from '../api/index.js';
import type { Executor, TaskContainer } from './executor.js';
import { HealthMonitor, type HealthState } from './health-monitor.js';

export type StatusReporter = (taskId: string, status: TaskStatus) => void;

/**
 * Drives one task's container towards what the manager wants (swarmkit's controller + `do`):
 * accepted → preparing (create) → ready → starting → running, then the exit as complete or
 * failed, or shutdown when asked to stop. Steps run one at a time; `update` only records the
 * newest task and asks for another step. A container found running at start-up is adopted.
 */
export class TaskController {
  private task: Task;
  private containerId: string | undefined;
  private reported: TaskState;
  private lastStatus: TaskStatus | undefined;
  private stepping: Promise<void> = Promise.resolve();
  private waiter: AbortController | undefined;
  private stopRequested = false;
  private closed = false;
  private health: HealthMonitor | undefined;
  private pid: number | undefined;

  constructor(
    task: Task,
    private readonly executor: Executor,
    private readonly report: StatusReporter,
    private readonly log: Logger,
    adopt?: TaskContainer,
  ) {
    this.task = task;
    this.reported = task.Status.State;
    if (adopt) {
      this.containerId = adopt.id;
      if (adopt.running || taskStateOrder(this.reported) >= taskStateOrder('starting')) {
        // A container that exited while the daemon was down reports its exit now.
        this.watch(adopt.id);
        if (adopt.running && !this.executor.healthcheck) {
          if (taskStateOrder(this.reported) < taskStateOrder('running')) {
            this.send('running', 'started', { PID: adopt.pid });
          }
        } else if (adopt.running) {
          // The health check goes on where it was; a task still `starting` waits for healthy.
          const id = adopt.id;
          this.stepping = this.stepping
            .then(() => this.running(id, adopt.pid))
            .catch((err: unknown) => this.log.warn({ err, 'task.id': task.ID }, 'adopt failed'));
        }
      }
    }
  }

  get id(): string {
    return this.task.ID;
  }

  get container(): string | undefined {
    return this.containerId;
  }

  /** The last status this controller reported (undefined before its first report). */
  get status(): TaskStatus | undefined {
    return this.lastStatus;
  }

  update(task: Task): void {
    // The manager's copy of our status can lag behind what we already reported.
    if (taskStateOrder(task.Status.State) > taskStateOrder(this.reported)) {
      this.reported = task.Status.State;
    }
    this.task = task;
    void this.kick();
  }

  kick(): Promise<void> {
    this.stepping = this.stepping
      .then(() => this.step())
      .catch((err: unknown) => {
        this.log.warn({ err, 'task.id': this.task.ID }, 'task step failed');
        this.fail(err instanceof Error ? err.message : String(err));
      });
    return this.stepping;
  }

  /** Stops and removes the container: the task left this node's assignments. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopRequested = true;
    this.health?.stop();
    await this.stepping;
    this.waiter?.abort();
    const id = this.containerId;
    if (id === undefined) return;
    try {
      await this.executor.stop(id, this.graceSec());
    } catch {
      // already gone
    }
    await this.executor.remove(id).catch(() => undefined);
  }

  private async step(): Promise<void> {
    if (this.closed) return;
    const desired = this.task.DesiredState;
    if (isTerminalTaskState(this.reported)) {
      // A finished task being removed: its container goes now, not only when the task is deleted.
      if (desired === 'remove' && this.containerId !== undefined) {
        await this.executor.remove(this.containerId).catch(() => undefined);
      }
      return;
    }
    if (desired === 'shutdown' || desired === 'remove') {
      this.stopRequested = true;
      this.health?.stop();
      if (this.containerId !== undefined) {
        await this.executor.stop(this.containerId, this.graceSec()).catch(() => undefined);
        // Removed (service rm, scale down): the container goes before the task says it stopped,
        // so whoever waits for the task to end (stack rm) finds no container after it.
        if (desired === 'remove') {
          await this.executor.remove(this.containerId).catch(() => undefined);
        }
      }
      if (!isTerminalTaskState(this.reported)) this.send('shutdown', 'shutdown');
      return;
    }
    if (this.containerId === undefined) {
      this.send('accepted', 'accepted');
      this.send('preparing', 'preparing');
      this.containerId = await this.executor.create(this.task);
      this.send('ready', 'prepared', { ContainerID: this.containerId });
    }
    if (desired !== 'running' && desired !== 'complete') return;
    if (taskStateOrder(this.reported) >= taskStateOrder('starting')) return;
    this.send('starting', 'starting');
    const pid = await this.executor.start(this.containerId);
    this.watch(this.containerId);
    await this.running(this.containerId, pid);
  }

  /**
   * The container runs: the task is `running` now, or, when it has a health check, stays
   * `starting` until the first healthy probe (as docker's swarm executor does), so a
   * start-first update never stops an old task for a new one that cannot serve yet.
   */
  private async running(containerId: string, pid: number): Promise<void> {
    this.pid = pid;
    const check =
      this.executor.probe && this.executor.healthcheck
        ? await this.executor.healthcheck(containerId)
        : undefined;
    const probe = this.executor.probe?.bind(this.executor);
    if (!check || !probe) {
      this.send('running', 'started', { PID: pid });
      return;
    }
    this.health?.stop();
    this.health = new HealthMonitor(
      check,
      (cmd, timeoutMs) => probe(containerId, cmd, timeoutMs),
      (h) => this.onHealth(containerId, h),
      Date.now(),
    );
    this.health.start();
  }

  private onHealth(containerId: string, h: HealthState): void {
    this.executor.setHealth?.(containerId, h);
    if (this.closed || this.stopRequested || isTerminalTaskState(this.reported)) return;
    if (h.Status === 'healthy' && taskStateOrder(this.reported) < taskStateOrder('running')) {
      this.send('running', 'started', this.pid !== undefined ? { PID: this.pid } : {});
    } else if (h.Status === 'unhealthy') {
      this.health?.stop();
      this.send('failed', 'started', {}, 'unhealthy container');
      void this.executor.stop(containerId, this.graceSec()).catch(() => undefined);
    }
  }

  private watch(containerId: string): void {
    const ac = new AbortController();
    this.waiter = ac;
    void this.executor
      .wait(containerId, ac.signal)
      .then((exit) => {
        this.health?.stop();
        if (this.closed || isTerminalTaskState(this.reported)) return;
        if (this.stopRequested) {
          // A removed task reports its end from step(), once its container is gone too.
          if (this.task.DesiredState === 'remove') return;
          this.send('shutdown', 'shutdown', { ExitCode: exit.exitCode });
        } else if (exit.exitCode === 0) {
          this.send('complete', 'finished', { ExitCode: 0 });
        } else {
          this.send(
            'failed',
            'started',
            { ExitCode: exit.exitCode },
            exit.error ?? `task: non-zero exit (${exit.exitCode})`,
          );
        }
      })
      .catch(() => undefined);
  }

  private fail(message: string): void {
    if (isTerminalTaskState(this.reported)) return;
    this.send('rejected', 'preparing', {}, message);
  }

  private graceSec(): number {
    return (
      (this.task.Spec.ContainerSpec.StopGracePeriod ?? DEFAULT_STOP_GRACE_PERIOD_NS) / NS_PER_SECOND
    );
  }

  private send(
    state: TaskState,
    message: string,
    container: { PID?: number; ExitCode?: number; ContainerID?: string } = {},
    err?: string,
  ): void {
    if (taskStateOrder(state) < taskStateOrder(this.reported)) return;
    if (state === this.reported && isTerminalTaskState(state)) return;
    this.reported = state;
    const status: TaskStatus = {
      Timestamp: new Date().toISOString(),
      State: state,
      Message: message,
      ...(err !== undefined ? { Err: err } : {}),
    };
    const containerId = container.ContainerID ?? this.containerId;
    if (
      containerId !== undefined ||
      container.PID !== undefined ||
      container.ExitCode !== undefined
    ) {
      status.ContainerStatus = {
        ...(containerId !== undefined ? { ContainerID: containerId } : {}),
        ...(container.PID !== undefined ? { PID: container.PID } : {}),
        ...(container.ExitCode !== undefined ? { ExitCode: container.ExitCode } : {}),
      };
    }
    this.lastStatus = status;
    this.report(this.task.ID, status);
  }
}
