export type { FSM, LogEntry, Proposer } from './fsm.js';
export {
  MemoryStore,
  type ApplyResult,
  type MemoryStoreOptions,
  type ReadTx,
  type TableReader,
  type TableWriter,
  type UpdateResult,
  type WriteTx,
} from './memory-store.js';
export { InMemoryProposer } from './in-memory-proposer.js';
export {
  TABLE_NAMES,
  type NewObject,
  type StoreObject,
  type StoreObjects,
  type TableName,
} from './tables.js';
export { all, type By, type CommonBy, type NodeBy, type TaskBy } from './by.js';
export type { StoreEvent, StoreEventType, StoreObjectEvent, WatchFilter } from './events.js';
export type { Watcher } from './watcher.js';
export { decodeCommand, encodeCommand, type StoreAction, type StoreCommand } from './command.js';
