import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { RaftCorruptionError } from './errors.js';
import type { EntryType, LogEntry, LogStore } from './types.js';

export interface FileLogStoreOptions {
  /** A segment is closed and a new one started once it grows past this. */
  segmentBytes?: number;
}

const magic = Buffer.from('TSRLOG01');
/** Record: u32 payload length, u32 crc32(payload), payload = u8 type, f64 index, f64 term, data. */
const recordHeaderBytes = 8;
const payloadHeaderBytes = 17;
const typeCodes: Record<EntryType, number> = { command: 1, noop: 2, config: 3 };
const codeTypes: Record<number, EntryType> = { 1: 'command', 2: 'noop', 3: 'config' };
const segmentPattern = /^(\d{20})\.seg$/;

interface Segment {
  file: string;
  first: number;
  /** Byte offset of each record, by index - first. */
  offsets: number[];
  size: number;
}

/**
 * The raft log as segment files under `dir`, each a run of CRC-framed records. A batch is
 * written with one write and one fdatasync before `append` returns. On open, a torn record at
 * the end of the newest segment (a crash mid-write) is cut off; any other damage is a
 * RaftCorruptionError naming file and offset. Entries are also kept in memory, since raft reads
 * the recent log constantly and compaction bounds its size.
 */
export class FileLogStore implements LogStore {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private segments: Segment[] = [];
  private fd: number | null = null;
  /** Appended with `sync: false` and not yet fdatasynced (always in the open segment). */
  private unsynced = false;
  private entries: LogEntry[] = [];
  private offset = 0;

  constructor(dir: string, options: FileLogStoreOptions = {}) {
    this.dir = dir;
    this.segmentBytes = options.segmentBytes ?? 64 << 20;
    fs.mkdirSync(dir, { recursive: true });
    this.load();
  }

  firstIndex(): number {
    return this.entries.length === 0 ? 0 : this.offset;
  }
  lastIndex(): number {
    return this.entries.length === 0 ? 0 : this.offset + this.entries.length - 1;
  }
  get(index: number): LogEntry | undefined {
    return this.entries[index - this.offset];
  }

  append(entries: readonly LogEntry[], options: { sync?: boolean } = {}): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (this.entries.length > 0 && first !== this.lastIndex() + 1) {
      throw new Error(`raft log: append at ${first} leaves a gap after ${this.lastIndex()}`);
    }
    const frames = entries.map(encodeRecord);
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    let seg = this.segments[this.segments.length - 1];
    if (
      seg === undefined ||
      this.entries.length === 0 ||
      (seg.size + bytes > this.segmentBytes && seg.offsets.length > 0)
    ) {
      seg = this.newSegment(first);
    }
    let at = seg.size;
    for (const f of frames) {
      seg.offsets.push(at);
      at += f.length;
    }
    const buf = frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes);
    fs.writeSync(this.fd!, buf, 0, buf.length, seg.size);
    if (options.sync === false) this.unsynced = true;
    else fs.fdatasyncSync(this.fd!);
    seg.size = at;
    if (this.entries.length === 0) this.offset = first;
    for (const e of entries) this.entries.push(e);
  }

  sync(): void {
    if (!this.unsynced || this.fd === null) return;
    fs.fdatasyncSync(this.fd);
    this.unsynced = false;
  }

  truncateSuffix(index: number): void {
    if (this.entries.length === 0 || index > this.lastIndex()) return;
    if (index <= this.firstIndex()) {
      this.reset();
      return;
    }
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.first >= index) {
      this.removeSegment(this.segments.length - 1);
    }
    const seg = this.segments[this.segments.length - 1]!;
    // The cut may fall exactly on a segment boundary: then this segment stays whole.
    const cut = seg.offsets[index - seg.first] ?? seg.size;
    this.openForAppend(seg);
    fs.ftruncateSync(this.fd!, cut);
    fs.fsyncSync(this.fd!);
    seg.offsets.length = Math.min(seg.offsets.length, index - seg.first);
    seg.size = cut;
    this.entries.length = index - this.offset;
  }

  truncatePrefix(index: number): void {
    if (this.entries.length === 0 || index < this.offset) return;
    if (index >= this.lastIndex()) {
      this.reset();
      return;
    }
    // Whole segments only: a partly compacted segment keeps its older entries on disk, and
    // they reappear (harmlessly, behind the snapshot) after a restart.
    while (this.segments.length > 1) {
      const next = this.segments[1]!;
      if (next.first - 1 > index) break;
      this.removeSegment(0);
    }
    this.entries = this.entries.slice(index - this.offset + 1);
    this.offset = index + 1;
  }

  reset(): void {
    while (this.segments.length > 0) this.removeSegment(this.segments.length - 1);
    this.entries = [];
    this.offset = 0;
  }

  close(): void {
    this.sync();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  // ------------------------------------------------------------------------------------------

  private load(): void {
    const names = fs
      .readdirSync(this.dir)
      .filter((n) => segmentPattern.test(n))
      .sort();
    for (let s = 0; s < names.length; s++) {
      const name = names[s]!;
      const file = path.join(this.dir, name);
      const first = Number(segmentPattern.exec(name)![1]);
      const isLast = s === names.length - 1;
      const buf = fs.readFileSync(file);
      if (buf.length < magic.length || !buf.subarray(0, magic.length).equals(magic)) {
        if (isLast && buf.length < magic.length) {
          // Crashed while creating the segment: nothing in it was ever acknowledged.
          fs.unlinkSync(file);
          fsyncDir(this.dir);
          continue;
        }
        throw new RaftCorruptionError(file, 0, 'not a raft log segment (bad magic)');
      }
      const seg: Segment = { file, first, offsets: [], size: magic.length };
      let at = magic.length;
      while (at < buf.length) {
        const problem = checkRecord(buf, at);
        if (problem !== null) {
          if (isLast && isTornTail(buf, at)) {
            const fd = fs.openSync(file, 'r+');
            fs.ftruncateSync(fd, at);
            fs.fsyncSync(fd);
            fs.closeSync(fd);
            break;
          }
          throw new RaftCorruptionError(file, at, problem);
        }
        const e = decodeRecord(buf, at);
        const expected = first + seg.offsets.length;
        if (e.index !== expected) {
          throw new RaftCorruptionError(
            file,
            at,
            `record holds index ${e.index}, expected ${expected}`,
          );
        }
        if (this.entries.length > 0 && e.index !== this.lastIndex() + 1) {
          throw new RaftCorruptionError(
            file,
            at,
            `index ${e.index} does not follow ${this.lastIndex()}`,
          );
        }
        if (this.entries.length === 0) this.offset = e.index;
        this.entries.push(e);
        seg.offsets.push(at);
        at += recordHeaderBytes + buf.readUInt32LE(at);
      }
      seg.size = at;
      if (seg.offsets.length === 0 && !isLast) {
        throw new RaftCorruptionError(file, magic.length, 'empty segment before the newest one');
      }
      this.segments.push(seg);
    }
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined) {
      if (last.offsets.length === 0 && this.entries.length === 0) this.reset();
      else this.openForAppend(last);
    }
  }

  private newSegment(first: number): Segment {
    this.sync();
    if (this.entries.length === 0) this.reset();
    const file = path.join(this.dir, `${String(first).padStart(20, '0')}.seg`);
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = fs.openSync(file, 'w+');
    fs.writeSync(this.fd, magic, 0, magic.length, 0);
    fs.fsyncSync(this.fd);
    fsyncDir(this.dir);
    const seg: Segment = { file, first, offsets: [], size: magic.length };
    this.segments.push(seg);
    return seg;
  }

  private openForAppend(seg: Segment): void {
    this.sync();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = fs.openSync(seg.file, 'r+');
  }

  private removeSegment(i: number): void {
    const seg = this.segments[i]!;
    if (i === this.segments.length - 1 && this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    fs.rmSync(seg.file, { force: true });
    this.segments.splice(i, 1);
    fsyncDir(this.dir);
  }
}

function encodeRecord(e: LogEntry): Buffer {
  const len = payloadHeaderBytes + e.data.length;
  const buf = Buffer.allocUnsafe(recordHeaderBytes + len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt8(typeCodes[e.type], 8);
  buf.writeDoubleLE(e.index, 9);
  buf.writeDoubleLE(e.term, 17);
  buf.set(e.data, 8 + payloadHeaderBytes);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** Why the record at `at` is unusable, or null. */
function checkRecord(buf: Buffer, at: number): string | null {
  if (at + recordHeaderBytes > buf.length) return 'record header cut short';
  const len = buf.readUInt32LE(at);
  if (len < payloadHeaderBytes) return `record length ${len} is too small`;
  if (at + recordHeaderBytes + len > buf.length)
    return `record of ${len} bytes runs past the end of the file`;
  const payload = buf.subarray(at + recordHeaderBytes, at + recordHeaderBytes + len);
  if (crc32(payload) !== buf.readUInt32LE(at + 4)) return 'checksum mismatch';
  if (codeTypes[payload.readUInt8(0)] === undefined)
    return `unknown entry type ${payload.readUInt8(0)}`;
  return null;
}

/**
 * A crash during the last write leaves a short record or one whose bytes never reached the
 * disk (zeros, or a checksum that fails) with nothing valid after it.
 */
function isTornTail(buf: Buffer, at: number): boolean {
  if (at + recordHeaderBytes > buf.length) return true;
  const len = buf.readUInt32LE(at);
  const end = at + recordHeaderBytes + len;
  if (len >= payloadHeaderBytes && end >= buf.length) return true;
  for (let i = at; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function decodeRecord(buf: Buffer, at: number): LogEntry {
  const len = buf.readUInt32LE(at);
  const p = at + recordHeaderBytes;
  return {
    type: codeTypes[buf.readUInt8(p)]!,
    index: buf.readDoubleLE(p + 1),
    term: buf.readDoubleLE(p + 9),
    // A copy, so entries do not pin the whole segment buffer read at start-up.
    data: new Uint8Array(buf.subarray(p + payloadHeaderBytes, p + len)),
  };
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
