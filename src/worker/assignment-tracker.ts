import type { Task } from '../api/index.js';
import type { AssignmentMessage, DeliveredFile, DeliveredFiles } from '../api/dispatch.js';

export type TrackResult =
  | {
      type: 'apply';
      tasks: Map<string, Task>;
      secrets: Map<string, DeliveredFile>;
      configs: Map<string, DeliveredFile>;
    }
  | { type: 'gap'; lastSeq: number }
  | { type: 'stale' };

/**
 * The worker's side of the numbered assignment stream: a complete set replaces everything, an
 * incremental message applies only on top of the one before it. A missing number means a
 * message was lost, so the worker must ask for a complete set (resync) rather than guess.
 */
export class AssignmentTracker {
  private sessionId = '';
  private seq = 0;
  private tasks = new Map<string, Task>();
  private secrets = new Map<string, DeliveredFile>();
  private configs = new Map<string, DeliveredFile>();

  get lastSeq(): number {
    return this.seq;
  }

  current(): Map<string, Task> {
    return new Map(this.tasks);
  }

  /** A new session starts a new numbering. */
  reset(sessionId: string): void {
    this.sessionId = sessionId;
    this.seq = 0;
  }

  apply(msg: AssignmentMessage): TrackResult {
    if (msg.sessionId !== this.sessionId) return { type: 'stale' };
    if (msg.type === 'complete') {
      if (msg.seq <= this.seq) return { type: 'stale' };
      this.seq = msg.seq;
      this.tasks = new Map(msg.tasks.map((t) => [t.ID, t]));
      this.secrets = new Map();
      this.configs = new Map();
      this.applyFiles(msg);
      return this.applied();
    }
    if (msg.seq <= this.seq) return { type: 'stale' };
    if (msg.seq !== this.seq + 1) return { type: 'gap', lastSeq: this.seq };
    this.seq = msg.seq;
    for (const t of msg.updated) this.tasks.set(t.ID, t);
    for (const id of msg.removed) this.tasks.delete(id);
    this.applyFiles(msg);
    return this.applied();
  }

  private applyFiles(msg: DeliveredFiles): void {
    for (const f of msg.secrets ?? []) this.secrets.set(f.ID, f);
    for (const f of msg.configs ?? []) this.configs.set(f.ID, f);
    for (const id of msg.removedSecrets ?? []) this.secrets.delete(id);
    for (const id of msg.removedConfigs ?? []) this.configs.delete(id);
  }

  private applied(): TrackResult {
    return {
      type: 'apply',
      tasks: this.current(),
      secrets: new Map(this.secrets),
      configs: new Map(this.configs),
    };
  }
}
