import type { StoreObjects, TableName } from './tables.js';

type ObjectEvent<K extends TableName> =
  | { type: 'create'; table: K; object: StoreObjects[K]; index: number }
  | { type: 'update'; table: K; object: StoreObjects[K]; old: StoreObjects[K]; index: number }
  | { type: 'delete'; table: K; object: StoreObjects[K]; index: number };

/** A change to one object, published after its entry committed. */
export type StoreObjectEvent = { [K in TableName]: ObjectEvent<K> }[TableName];

/**
 * `commit` follows the object events of one applied entry (swarmkit's EventCommit), so a
 * reconciler can batch; `reset` follows a snapshot restore: watchers must re-read everything.
 */
export type StoreEvent =
  StoreObjectEvent | { type: 'commit'; index: number } | { type: 'reset'; index: number };

export type StoreEventType = StoreEvent['type'];

export interface WatchFilter {
  /** Only these tables (object events); all when absent. */
  tables?: readonly TableName[];
  /** Only these event types; defaults to create, update, delete and reset. */
  types?: readonly StoreEventType[];
  /** Only events about these ids. */
  ids?: readonly string[];
  /** Last word, for anything the fields above cannot say. */
  match?: (e: StoreEvent) => boolean;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Events held for a slow reader before it is cut off (swarmkit drops slow watchers too). */
  maxQueue?: number;
}

const DEFAULT_TYPES: readonly StoreEventType[] = ['create', 'update', 'delete', 'reset'];

export function passes(filter: WatchFilter, e: StoreEvent): boolean {
  if (!(filter.types ?? DEFAULT_TYPES).includes(e.type)) return false;
  if (e.type !== 'commit' && e.type !== 'reset') {
    if (filter.tables && !filter.tables.includes(e.table)) return false;
    if (filter.ids && !filter.ids.includes(e.object.ID)) return false;
  }
  return filter.match ? filter.match(e) : true;
}
