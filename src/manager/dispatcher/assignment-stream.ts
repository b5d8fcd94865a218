import { isTerminalTaskState, taskStateOrder, type Task } from '../../api/index.js';
import type { AssignmentMessage, DeliveredFile, DeliveredFiles } from '../../api/dispatch.js';

export type FileKind = 'secret' | 'config';
/** Loads one secret (opened) or config for delivery; undefined when it no longer exists. */
export type FileLoader = (kind: FileKind, id: string) => DeliveredFile | undefined;

/** The secrets and configs the tasks use, by id. */
export function filesUsedBy(tasks: readonly Task[]): {
  secrets: Set<string>;
  configs: Set<string>;
} {
  const secrets = new Set<string>();
  const configs = new Set<string>();
  for (const t of tasks) {
    for (const r of t.Spec.ContainerSpec.Secrets ?? []) secrets.add(r.SecretID);
    for (const r of t.Spec.ContainerSpec.Configs ?? []) configs.add(r.ConfigID);
  }
  return { secrets, configs };
}

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
  /** Secret and config ids the worker holds. */
  private knownSecrets = new Set<string>();
  private knownConfigs = new Set<string>();

  constructor(readonly sessionId: string) {}

  get lastSeq(): number {
    return this.seq;
  }

  complete(tasks: readonly Task[], load?: FileLoader): AssignmentMessage {
    this.known = new Map(tasks.map((t) => [t.ID, t.Version.Index]));
    this.knownSecrets = new Set();
    this.knownConfigs = new Set();
    const files = this.fileChanges(tasks, load);
    return {
      type: 'complete',
      sessionId: this.sessionId,
      seq: ++this.seq,
      tasks: [...tasks],
      ...files,
    };
  }

  /** Secrets and configs to add (before the tasks that use them run) and to drop. */
  private fileChanges(tasks: readonly Task[], load: FileLoader | undefined): DeliveredFiles {
    if (!load) return {};
    const used = filesUsedBy(tasks);
    const out: DeliveredFiles = {};
    const sync = (
      kind: FileKind,
      want: Set<string>,
      known: Set<string>,
    ): { added: DeliveredFile[]; removed: string[] } => {
      const added: DeliveredFile[] = [];
      for (const id of want) {
        if (known.has(id)) continue;
        const f = load(kind, id);
        if (f) {
          added.push(f);
          known.add(id);
        }
      }
      const removed = [...known].filter((id) => !want.has(id));
      for (const id of removed) known.delete(id);
      return { added, removed };
    };
    const s = sync('secret', used.secrets, this.knownSecrets);
    const c = sync('config', used.configs, this.knownConfigs);
    if (s.added.length > 0) out.secrets = s.added;
    if (c.added.length > 0) out.configs = c.added;
    if (s.removed.length > 0) out.removedSecrets = s.removed;
    if (c.removed.length > 0) out.removedConfigs = c.removed;
    return out;
  }

  /** What changed since the last message, or undefined when nothing did. */
  diff(tasks: readonly Task[], load?: FileLoader): AssignmentMessage | undefined {
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
    const files = this.fileChanges(tasks, load);
    if (updated.length === 0 && removed.length === 0 && Object.keys(files).length === 0) {
      return undefined;
    }
    return {
      type: 'incremental',
      sessionId: this.sessionId,
      seq: ++this.seq,
      updated,
      removed,
      ...files,
    };
  }
}
