import path from 'node:path';
import { FileLogStore, type FileLogStoreOptions } from './file-log-store.js';
import { FileSnapshotStore, type FileSnapshotStoreOptions } from './file-snapshot-store.js';
import { FileStableStore } from './file-stable-store.js';

export interface FileStores {
  logStore: FileLogStore;
  stableStore: FileStableStore;
  snapshotStore: FileSnapshotStore;
  close(): void;
}

/** The durable stores of one server under `dir` (normally `<data-root>/raft`). */
export function openFileStores(
  dir: string,
  options: FileLogStoreOptions & FileSnapshotStoreOptions = {},
): FileStores {
  const logStore = new FileLogStore(path.join(dir, 'log'), options);
  const stableStore = new FileStableStore(dir);
  const snapshotStore = new FileSnapshotStore(path.join(dir, 'snapshots'), options);
  return {
    logStore,
    stableStore,
    snapshotStore,
    close() {
      logStore.close();
      stableStore.close();
      snapshotStore.close();
    },
  };
}
