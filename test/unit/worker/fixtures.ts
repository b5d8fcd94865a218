// Fakes shared by the worker's unit tests.
import type { Task } from '../../../src/api/index.js';
import type { ContainerExit, Executor, TaskContainer } from '../../../src/worker/index.js';

/** A task of service s1 on n1, desired `desired`. */
export function task(id: string, desired: Task['DesiredState'] = 'running', version = 1): Task {
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
export class FakeExecutor implements Executor {
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
