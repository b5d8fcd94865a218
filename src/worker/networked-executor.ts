import { setTimeout as delay } from 'node:timers/promises';
import type { HealthConfig, Task } from '../api/index.js';
import type { ContainerExit, Executor, TaskContainer } from './executor.js';
import type { HealthState, ProbeOutcome } from './health-monitor.js';
import type { RuntimeExecutor } from './runtime-executor.js';
import type { TaskNetworks } from './task-networks.js';

/**
 * The runtime executor with the task's overlay networks around it: the namespace is prepared
 * before the container is created in it, and released once the container has exited (its
 * address may go to another task from then on) or is removed. It implements every optional
 * method of Executor too (`Required`), so one added there cannot be silently dropped here.
 */
export class NetworkedExecutor implements Required<Executor> {
  private readonly taskOf = new Map<string, string>();

  constructor(
    private readonly inner: RuntimeExecutor,
    private readonly networks: TaskNetworks,
  ) {}

  async list(): Promise<TaskContainer[]> {
    const list = await this.inner.list();
    for (const c of list) this.taskOf.set(c.id, c.taskId);
    return list;
  }

  async create(task: Task): Promise<string> {
    const prepared = await this.networks.prepare(task);
    try {
      const id = await this.inner.create(task, prepared);
      this.taskOf.set(id, task.ID);
      return id;
    } catch (err) {
      await this.networks.release(task.ID);
      throw err;
    }
  }

  start(containerId: string): Promise<number> {
    return this.inner.start(containerId);
  }

  async wait(containerId: string, signal: AbortSignal): Promise<ContainerExit> {
    const exit = await this.inner.wait(containerId, signal);
    const taskId = this.taskOf.get(containerId);
    if (taskId !== undefined && !signal.aborted) await this.networks.release(taskId);
    return exit;
  }

  // Health checks run in the container whatever its network: straight to the runtime.
  healthcheck(containerId: string): Promise<HealthConfig | undefined> {
    return this.inner.healthcheck(containerId);
  }

  probe(containerId: string, cmd: string[], timeoutMs: number): Promise<ProbeOutcome> {
    return this.inner.probe(containerId, cmd, timeoutMs);
  }

  setHealth(containerId: string, health: HealthState | undefined): void {
    this.inner.setHealth(containerId, health);
  }

  /**
   * As Docker does: the task leaves the load balancers first (here at once, on the other nodes
   * with the managers' view that went out with this stop), and is signalled only once they
   * have had time to follow, so no new connection reaches a dying process.
   */
  async stop(containerId: string, timeoutSec: number): Promise<void> {
    const taskId = this.taskOf.get(containerId);
    if (taskId !== undefined && (await this.networks.deactivate(taskId))) {
      await delay(this.networks.leaveDelayMs);
    }
    return this.inner.stop(containerId, timeoutSec);
  }

  async remove(containerId: string): Promise<void> {
    await this.inner.remove(containerId);
    const taskId = this.taskOf.get(containerId);
    this.taskOf.delete(containerId);
    if (taskId !== undefined) await this.networks.release(taskId);
  }
}
