import type { StoreObject, TableName } from './tables.js';
import { TABLE_NAMES } from './tables.js';

/**
 * One store change inside a raft entry. Objects travel whole, with their timestamps and ids
 * already set by the proposer, so applying needs no clock and no randomness.
 */
export type StoreAction =
  | { kind: 'create'; table: TableName; object: StoreObject }
  /** `expectedVersion` is the Version.Index the writer read; a different one is refused. */
  | { kind: 'update'; table: TableName; object: StoreObject; expectedVersion: number }
  | { kind: 'delete'; table: TableName; id: string };

export interface StoreCommand {
  /** Format version of the entry, so a newer manager can still read old logs. */
  v: 1;
  /** Lets the proposing manager find its own result; ignored by every other replica. */
  proposal?: string;
  actions: StoreAction[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeCommand(cmd: StoreCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

export type DecodedCommand = { ok: true; command: StoreCommand } | { ok: false; error: string };

/** Strict on shape: a malformed entry must fail the same way on every replica. */
export function decodeCommand(data: Uint8Array): DecodedCommand {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch (err) {
    return { ok: false, error: `store entry is not JSON: ${(err as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null)
    return { ok: false, error: 'store entry is not an object' };
  const c = raw as Partial<StoreCommand>;
  if (c.v !== 1) return { ok: false, error: `unknown store entry version ${String(c.v)}` };
  if (!Array.isArray(c.actions)) return { ok: false, error: 'store entry has no actions' };
  for (const [i, a] of c.actions.entries()) {
    const act = a as Partial<StoreAction> | null;
    if (typeof act !== 'object' || act === null)
      return { ok: false, error: `action ${i} is not an object` };
    if (!TABLE_NAMES.includes(act.table as TableName)) {
      return { ok: false, error: `action ${i} names unknown table ${String(act.table)}` };
    }
    if (act.kind === 'delete') {
      if (typeof act.id !== 'string') return { ok: false, error: `action ${i} has no id` };
    } else if (act.kind === 'create' || act.kind === 'update') {
      const o = act.object as { ID?: unknown } | undefined;
      if (typeof o !== 'object' || o === null || typeof o.ID !== 'string' || o.ID === '') {
        return { ok: false, error: `action ${i} has no object with an ID` };
      }
      if (act.kind === 'update' && typeof act.expectedVersion !== 'number') {
        return { ok: false, error: `action ${i} has no expected version` };
      }
    } else return { ok: false, error: `action ${i} has unknown kind ${String(act.kind)}` };
  }
  return { ok: true, command: c as StoreCommand };
}
