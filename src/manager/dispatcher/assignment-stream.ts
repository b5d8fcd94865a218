import { isTerminalTaskState, taskStateOrder, type Task } from '../../api/index.js';
import type { AssignmentMessage } from '../../api/dispatch.js';

/** Tasks a node must know about: assigned to it and not yet finished as far as we know. */
export function isAssignedTo(t: Task, nodeId: string): boolean {
  return (
    t.NodeID === nodeId &&
    taskStateOrder(t.Status.State) >= taskStateOrder('assigned') &&
    !isTerminalTaskState(t.Status.State)
  );
}

/**
 * The sequence of assignment messages of one worker session: a complete set first (and after
 * every resync), then only what changed, each numbered so the worker notices a lost message.
 * Pure: the dispatcher hands it the node's current tasks and publishes what comes out.
 */
export class AssignmentStream {
  private seq = 0;
  /** Task id → Version.Index the worker was last sent. */
  private known = new Map<string, number>();

  constructor(readonly sessionId: string) {}

  get lastSeq(): number {
    return this.seq;
  }

  complete(tasks: readonly Task[]): AssignmentMessage {
    this.known = new Map(tasks.map((t) => [t.ID, t.Version.Index]));
    return { type: 'complete', sessionId: this.sessionId, seq: ++this.seq, tasks: [...tasks] };
  }

  /** What changed since the last message, or undefined when nothing did. */
  diff(tasks: readonly Task[]): AssignmentMessage | undefined {
    const updated: Task[] = [];
    const seen = new Set<string>();
    for (const t of tasks) {
      seen.add(t.ID);
      if (this.known.get(t.ID) !== t.Version.Index) {
        updated.push(t);
        this.known.set(t.ID, t.Version.Index);
      }
    }
    const removed: string[] = [];
    for (const id of this.known.keys()) {
      if (!seen.has(id)) removed.push(id);
    }
    for (const id of removed) this.known.delete(id);
    if (updated.length === 0 && removed.length === 0) return undefined;
    return { type: 'incremental', sessionId: this.sessionId, seq: ++this.seq, updated, removed };
  }
}
