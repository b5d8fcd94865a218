import { createHash } from 'node:crypto';
import type { FSM } from '../../../src/manager/raft/index.js';

export type KvCommand = { op: 'put'; key: string; value: string } | { op: 'get'; key: string };
export interface KvResult {
  index: number;
  /** put: the previous value; get: the current value. */
  value: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeKv = (c: KvCommand): Uint8Array => encoder.encode(JSON.stringify(c));

/**
 * A key-value FSM that also keeps a digest of every entry it applied, carried in its
 * snapshots: two replicas with the same digest at the same index applied the same history.
 */
export class KvFsm implements FSM<KvResult> {
  readonly data = new Map<string, string>();
  digest = '';
  appliedIndex = 0;
  constructor(
    private readonly onApply?: (index: number, digest: string, data: Uint8Array) => void,
  ) {}

  apply(entry: { index: number; term: number; data: Uint8Array }): KvResult {
    const c = JSON.parse(decoder.decode(entry.data)) as KvCommand;
    this.digest = createHash('sha1')
      .update(this.digest)
      .update(String(entry.index))
      .update(entry.data)
      .digest('hex');
    this.appliedIndex = entry.index;
    let value: string | null;
    if (c.op === 'put') {
      value = this.data.get(c.key) ?? null;
      this.data.set(c.key, c.value);
    } else {
      value = this.data.get(c.key) ?? null;
    }
    this.onApply?.(entry.index, this.digest, entry.data);
    return { index: entry.index, value };
  }
  snapshot(): Uint8Array {
    const entries = [...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return encoder.encode(
      JSON.stringify({ entries, digest: this.digest, index: this.appliedIndex }),
    );
  }
  restore(data: Uint8Array): void {
    const s = JSON.parse(decoder.decode(data)) as {
      entries: [string, string][];
      digest: string;
      index: number;
    };
    this.data.clear();
    for (const [k, v] of s.entries) this.data.set(k, v);
    this.digest = s.digest;
    this.appliedIndex = s.index;
  }
}
