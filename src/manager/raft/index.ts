export { RaftNode } from './raft-node.js';
export type { RaftNodeOptions } from './raft-node.js';
export { defaultRaftConfig, validateRaftConfig } from './config.js';
export type { RaftConfig } from './config.js';
export {
  NotLeaderError,
  LeadershipLostError,
  RaftStoppedError,
  RaftCorruptionError,
} from './errors.js';
export { systemClock } from './clock.js';
export { MemoryLogStore, MemoryStableStore, MemorySnapshotStore } from './memory-stores.js';
export { MemoryNetwork } from './memory-transport.js';
export type { Delivery, MemoryNetworkOptions } from './memory-transport.js';
export type {
  FSM,
  Server,
  Suffrage,
  Configuration,
  EntryType,
  LogEntry,
  LogStore,
  HardState,
  StableStore,
  SnapshotMeta,
  Snapshot,
  SnapshotStore,
  RaftMessage,
  MessageHandler,
  Transport,
  TimerHandle,
  Clock,
  RandomSource,
  RaftRole,
  RaftEvent,
  RaftStats,
} from './types.js';
export { FileLogStore } from './file-log-store.js';
export type { FileLogStoreOptions } from './file-log-store.js';
export { FileStableStore } from './file-stable-store.js';
export { FileSnapshotStore } from './file-snapshot-store.js';
export type { FileSnapshotStoreOptions } from './file-snapshot-store.js';
export { openFileStores } from './file-stores.js';
export type { FileStores } from './file-stores.js';
export { TcpTransport, defaultAuthorize, splitAddress } from './tcp-transport.js';
export type { TcpTransportConfig } from './tcp-transport.js';
export { encodeMessage, decodeMessage } from './codec.js';
