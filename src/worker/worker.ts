import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TaskStatusUpdate } from '../api/dispatch.js';
import type { Task, TaskStatus } from '../api/index.js';
import type { Executor } from './executor.js';
import { TaskController, type StatusReporter } from './task-controller.js';
import { writeJsonAtomic } from './write-json.js';

/**
 * The node's worker: one task controller per assigned task. `reconcile` takes the complete
 * set of assignments (after the tracker applied a message) and starts, updates or closes
 * controllers to match. The set is persisted, so after a daemon restart the worker adopts its
 * running containers before the manager is even reachable, and leaves them running.
 */
export class Worker {
  private readonly controllers = new Map<string, TaskController>();
  private readonly closing = new Set<Promise<void>>();
  private readonly log: Logger;
  private persist: Promise<void> = Promise.resolve();

  constructor(
    private readonly executor: Executor,
    private readonly report: StatusReporter,
    logger: Logger,
    private readonly stateDir?: string,
  ) {
    this.log = logger.child({ component: 'worker' });
  }

  private get stateFile(): string | undefined {
    return this.stateDir === undefined ? undefined : join(this.stateDir, 'tasks.json');
  }

  /** Adopts the tasks of the last run with their containers; removes orphaned containers. */
  async start(): Promise<void> {
    let saved: Task[] = [];
    const file = this.stateFile;
    if (file !== undefined) {
      try {
        saved = JSON.parse(await readFile(file, 'utf8')) as Task[];
      } catch {
        saved = [];
      }
    }
    await this.reconcile(new Map(saved.map((t) => [t.ID, t])), true);
  }

  taskIds(): string[] {
    return [...this.controllers.keys()];
  }

  /**
   * The last status of every task this worker holds, for a new session: a report published
   * while no leader listened (a leader change) is otherwise lost, and the task would look
   * stuck in its old state.
   */
  statuses(): TaskStatusUpdate[] {
    const out: TaskStatusUpdate[] = [];
    for (const [taskId, ctl] of this.controllers) {
      const status = ctl.status;
      if (status) out.push({ taskId, status });
    }
    return out;
  }

  async reconcile(tasks: ReadonlyMap<string, Task>, adopting = false): Promise<void> {
    const containers = await this.executor.list();
    const byTask = new Map(containers.map((c) => [c.taskId, c]));
    for (const [id, task] of tasks) {
      const existing = this.controllers.get(id);
      if (existing) {
        existing.update(task);
        continue;
      }
      const c = byTask.get(id);
      const ctl = new TaskController(task, this.executor, this.report, this.log, c);
      this.controllers.set(id, ctl);
      void ctl.kick();
    }
    const closing = new Set<string>();
    for (const [id, ctl] of this.controllers) {
      if (tasks.has(id)) continue;
      this.controllers.delete(id);
      closing.add(id);
      this.track(ctl.close());
    }
    // Containers of tasks this node no longer has (removed while the daemon was down).
    for (const c of containers) {
      if (tasks.has(c.taskId) || this.controllers.has(c.taskId) || closing.has(c.taskId)) continue;
      if (adopting && c.running) continue; // the manager's complete set decides about these
      this.track(
        this.executor
          .stop(c.id, 10)
          .catch(() => undefined)
          .then(() => this.executor.remove(c.id))
          .catch(() => undefined),
      );
    }
    this.save(tasks);
  }

  private track(p: Promise<void>): void {
    const q = p.catch((err: unknown) => this.log.warn({ err }, 'container cleanup failed'));
    this.closing.add(q);
    void q.finally(() => this.closing.delete(q));
  }

  private save(tasks: ReadonlyMap<string, Task>): void {
    const file = this.stateFile;
    if (file === undefined || this.stateDir === undefined) return;
    const dir = this.stateDir;
    const data = JSON.stringify([...tasks.values()]);
    this.persist = this.persist
      .then(async () => {
        await mkdir(dir, { recursive: true });
        await writeJsonAtomic(file, data);
      })
      .catch((err: unknown) => this.log.warn({ err }, 'could not persist assignments'));
  }

  /** Waits for closes and saves under way (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.closing]);
    await this.persist;
  }

  /** Swarm leave: every task container stopped and removed, the saved set emptied. */
  async removeAll(): Promise<void> {
    await this.reconcile(new Map());
    // Controllers first: stopping a container twice at once can leave the runtime's second
    // stop waiting on a container the first one already removed.
    await this.settled();
    for (const c of await this.executor.list()) {
      await this.executor.stop(c.id, 1).catch(() => undefined);
      await this.executor.remove(c.id).catch(() => undefined);
    }
    await this.settled();
  }
}

export type { TaskStatus };
