import type {
  HardState,
  LogEntry,
  LogStore,
  Snapshot,
  SnapshotStore,
  StableStore,
} from './types.js';

/**
 * A log in memory. Because every store call is synchronous and "durable on return", keeping
 * this object across a simulated crash models a disk that honoured every fsync.
 */
export class MemoryLogStore implements LogStore {
  private entries: LogEntry[] = [];
  /** Index of entries[0]. */
  private offset = 0;

  firstIndex(): number {
    return this.entries.length === 0 ? 0 : this.offset;
  }
  lastIndex(): number {
    return this.entries.length === 0 ? 0 : this.offset + this.entries.length - 1;
  }
  get(index: number): LogEntry | undefined {
    return this.entries[index - this.offset];
  }
  append(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (this.entries.length === 0) this.offset = first;
    else if (first !== this.lastIndex() + 1) {
      throw new Error(`log: append at ${first} leaves a gap after ${this.lastIndex()}`);
    }
    for (const e of entries) this.entries.push(e);
  }
  sync(): void {}
  truncateSuffix(index: number): void {
    if (this.entries.length === 0) return;
    this.entries.length = Math.max(0, index - this.offset);
  }
  truncatePrefix(index: number): void {
    if (this.entries.length === 0 || index < this.offset) return;
    this.entries = this.entries.slice(index - this.offset + 1);
    this.offset = index + 1;
  }
  reset(): void {
    this.entries = [];
    this.offset = 0;
  }
  close(): void {}
}

export class MemoryStableStore implements StableStore {
  private state: HardState = { term: 0, votedFor: null };
  load(): HardState {
    return { ...this.state };
  }
  save(state: HardState): void {
    this.state = { ...state };
  }
  close(): void {}
}

export class MemorySnapshotStore implements SnapshotStore {
  private last: Snapshot | undefined;
  save(snapshot: Snapshot): void {
    this.last = { meta: structuredClone(snapshot.meta), data: snapshot.data.slice() };
  }
  latest(): Snapshot | undefined {
    return this.last;
  }
  close(): void {}
}
