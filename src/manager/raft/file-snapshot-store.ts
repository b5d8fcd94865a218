import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { RaftCorruptionError } from './errors.js';
import { fsyncDir } from './file-log-store.js';
import type { Snapshot, SnapshotMeta, SnapshotStore } from './types.js';

const magic = Buffer.from('TSRSNP01');
const pattern = /^(\d{20})-(\d{20})\.snap$/;

export interface FileSnapshotStoreOptions {
  /** Snapshots kept on disk; older ones are deleted after a new one is durable. */
  retain?: number;
}

/**
 * Snapshots as files `<index>-<term>.snap`: magic, u32 meta length, meta JSON, data, and a
 * crc32 of everything before it. Written to a temporary name and renamed once durable.
 */
export class FileSnapshotStore implements SnapshotStore {
  private readonly dir: string;
  private readonly retain: number;
  private cached: Snapshot | undefined;

  constructor(dir: string, options: FileSnapshotStoreOptions = {}) {
    this.dir = dir;
    this.retain = Math.max(1, options.retain ?? 2);
    fs.mkdirSync(dir, { recursive: true });
    for (const n of fs.readdirSync(dir))
      if (n.endsWith('.tmp')) fs.rmSync(path.join(dir, n), { force: true });
    const newest = this.files().at(-1);
    if (newest !== undefined) this.cached = readSnapshot(path.join(dir, newest));
  }

  save(snapshot: Snapshot): void {
    const name = `${String(snapshot.meta.index).padStart(20, '0')}-${String(snapshot.meta.term).padStart(20, '0')}.snap`;
    const file = path.join(this.dir, name);
    const meta = Buffer.from(JSON.stringify(snapshot.meta));
    const head = Buffer.alloc(magic.length + 4);
    magic.copy(head);
    head.writeUInt32LE(meta.length, magic.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(snapshot.data, crc32(meta, crc32(head))));
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const part of [head, meta, snapshot.data, crc]) fs.writeSync(fd, part);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(this.dir);
    this.cached = { meta: structuredClone(snapshot.meta), data: snapshot.data.slice() };
    const files = this.files();
    for (const old of files.slice(0, Math.max(0, files.length - this.retain))) {
      fs.rmSync(path.join(this.dir, old), { force: true });
    }
  }

  latest(): Snapshot | undefined {
    return this.cached;
  }

  close(): void {}

  private files(): string[] {
    return fs
      .readdirSync(this.dir)
      .filter((n) => pattern.test(n))
      .sort();
  }
}

function readSnapshot(file: string): Snapshot {
  const buf = fs.readFileSync(file);
  if (buf.length < magic.length + 8 || !buf.subarray(0, magic.length).equals(magic)) {
    throw new RaftCorruptionError(file, 0, 'not a raft snapshot (bad magic or too short)');
  }
  const metaLen = buf.readUInt32LE(magic.length);
  const metaEnd = magic.length + 4 + metaLen;
  if (metaEnd + 4 > buf.length)
    throw new RaftCorruptionError(file, magic.length, 'metadata runs past the end');
  const body = buf.subarray(0, buf.length - 4);
  if (crc32(body) !== buf.readUInt32LE(buf.length - 4)) {
    throw new RaftCorruptionError(file, buf.length - 4, 'checksum mismatch');
  }
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(buf.subarray(magic.length + 4, metaEnd).toString('utf8')) as SnapshotMeta;
  } catch {
    throw new RaftCorruptionError(file, magic.length + 4, 'metadata is not valid JSON');
  }
  return { meta, data: new Uint8Array(buf.subarray(metaEnd, buf.length - 4)) };
}
