import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileLogStore,
  FileSnapshotStore,
  FileStableStore,
  MemoryLogStore,
  RaftCorruptionError,
  type LogEntry,
} from '../../../../src/manager/raft/index.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-store-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const entry = (index: number, term = 1, size = 10): LogEntry => ({
  index,
  term,
  type: 'command',
  data: new Uint8Array(size).fill(index % 251),
});
const range = (from: number, to: number, term = 1): LogEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const segments = (): string[] =>
  fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();

function lastSegment(): string {
  return path.join(dir, segments().at(-1)!);
}

describe('FileLogStore', () => {
  it('keeps entries across reopen, spread over several segments', () => {
    const s = new FileLogStore(dir, { segmentBytes: 200 });
    for (let i = 1; i <= 20; i += 4) s.append(range(i, i + 3));
    s.append(range(21, 30, 2));
    s.close();
    expect(segments().length).toBeGreaterThan(2);
    const r = new FileLogStore(dir, { segmentBytes: 200 });
    expect([r.firstIndex(), r.lastIndex()]).toEqual([1, 30]);
    expect(r.get(25)).toEqual(entry(25, 2));
    r.close();
  });

  it('refuses an append that leaves a gap', () => {
    const s = new FileLogStore(dir);
    s.append(range(1, 3));
    expect(() => s.append([entry(5)])).toThrow(/gap/);
    s.close();
  });

  it('truncates a conflicting suffix durably, across segments', () => {
    const s = new FileLogStore(dir, { segmentBytes: 200 });
    for (let i = 1; i <= 30; i += 3) s.append(range(i, i + 2));
    s.truncateSuffix(12);
    s.append(range(12, 14, 3));
    s.close();
    const r = new FileLogStore(dir, { segmentBytes: 200 });
    expect(r.lastIndex()).toBe(14);
    expect(r.get(12)?.term).toBe(3);
    expect(r.get(11)?.term).toBe(1);
    r.close();
  });

  it('truncates exactly at a segment boundary', () => {
    const s = new FileLogStore(dir, { segmentBytes: 120 });
    s.append([entry(1)]);
    s.append(range(2, 4));
    s.truncateSuffix(2);
    expect(s.lastIndex()).toBe(1);
    s.append([entry(2, 5)]);
    s.close();
    const r = new FileLogStore(dir, { segmentBytes: 120 });
    expect([r.lastIndex(), r.get(2)?.term]).toEqual([2, 5]);
    r.close();
  });

  it('compacts a prefix by whole segments', () => {
    const s = new FileLogStore(dir, { segmentBytes: 200 });
    for (let i = 1; i <= 40; i += 5) s.append(range(i, i + 4));
    const before = segments().length;
    s.truncatePrefix(25);
    expect(s.firstIndex()).toBe(26);
    expect(s.get(25)).toBeUndefined();
    expect(segments().length).toBeLessThan(before);
    s.close();
    const r = new FileLogStore(dir, { segmentBytes: 200 });
    expect(r.firstIndex()).toBeLessThanOrEqual(26);
    expect(r.lastIndex()).toBe(40);
    r.close();
  });

  it('cuts off a record torn by a crash mid-write and keeps what came before', () => {
    const s = new FileLogStore(dir);
    s.append(range(1, 5));
    s.close();
    const file = lastSegment();
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 7);
    const r = new FileLogStore(dir);
    expect(r.lastIndex()).toBe(4);
    r.append([entry(5, 2)]);
    r.close();
    const again = new FileLogStore(dir);
    expect(again.get(5)?.term).toBe(2);
    again.close();
  });

  it('cuts off a zero-filled tail (size extended, data never written)', () => {
    const s = new FileLogStore(dir);
    s.append(range(1, 3));
    s.close();
    const size = fs.statSync(lastSegment()).size;
    fs.appendFileSync(lastSegment(), Buffer.alloc(64));
    const r = new FileLogStore(dir);
    expect(r.lastIndex()).toBe(3);
    r.close();
    expect(fs.statSync(lastSegment()).size).toBe(size);
  });

  it('cuts off a last record whose bytes are garbage', () => {
    const s = new FileLogStore(dir);
    s.append(range(1, 3));
    s.close();
    const file = lastSegment();
    const buf = fs.readFileSync(file);
    buf[buf.length - 2] = buf[buf.length - 2]! ^ 0xff;
    fs.writeFileSync(file, buf);
    const r = new FileLogStore(dir);
    expect(r.lastIndex()).toBe(2);
    r.close();
  });

  it('refuses a corrupt record that is not at the tail, naming file and offset', () => {
    const s = new FileLogStore(dir);
    s.append(range(1, 5));
    s.close();
    const file = lastSegment();
    const buf = fs.readFileSync(file);
    const recordBytes = (buf.length - 8) / 5;
    const offset = 8 + recordBytes * 2;
    buf[offset + 12] = buf[offset + 12]! ^ 0x01;
    fs.writeFileSync(file, buf);
    let error: unknown;
    try {
      new FileLogStore(dir).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RaftCorruptionError);
    const c = error as RaftCorruptionError;
    expect(c.file).toBe(file);
    expect(c.offset).toBe(offset);
    expect(c.message).toContain(`${file} at offset ${offset}`);
    expect(c.code).toBe('TSS_DATA_CORRUPT');
  });

  it('refuses damage in an older segment even at its end', () => {
    const s = new FileLogStore(dir, { segmentBytes: 100 });
    for (let i = 1; i <= 10; i++) s.append([entry(i)]);
    s.close();
    const first = path.join(dir, segments()[0]!);
    fs.truncateSync(first, fs.statSync(first).size - 3);
    expect(() => new FileLogStore(dir, { segmentBytes: 100 })).toThrow(RaftCorruptionError);
  });

  it('behaves like the in-memory log under random operations and reopens', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 8 }) }),
            fc.record({ op: fc.constant('suffix' as const), n: fc.integer({ min: 0, max: 10 }) }),
            fc.record({ op: fc.constant('prefix' as const), n: fc.integer({ min: 0, max: 10 }) }),
            fc.record({ op: fc.constant('reopen' as const), n: fc.constant(0) }),
          ),
          { maxLength: 30 },
        ),
        (ops) => {
          fs.rmSync(dir, { recursive: true, force: true });
          let file = new FileLogStore(dir, { segmentBytes: 120 });
          const mem = new MemoryLogStore();
          let term = 1;
          let floor = 0;
          for (const { op, n } of ops) {
            if (op === 'append') {
              const from = mem.lastIndex() === 0 ? floor + 1 : mem.lastIndex() + 1;
              const es = range(from, from + n - 1, term);
              mem.append(es);
              file.append(es);
            } else if (op === 'suffix') {
              const at = mem.lastIndex() - n;
              if (at <= mem.firstIndex()) continue;
              term++;
              mem.truncateSuffix(at);
              file.truncateSuffix(at);
            } else if (op === 'prefix') {
              const at = mem.firstIndex() + n;
              if (mem.lastIndex() === 0 || at >= mem.lastIndex()) continue;
              mem.truncatePrefix(at);
              file.truncatePrefix(at);
              floor = at;
            } else {
              file.close();
              file = new FileLogStore(dir, { segmentBytes: 120 });
            }
            expect(file.lastIndex()).toBe(mem.lastIndex());
            for (let i = mem.firstIndex(); i <= mem.lastIndex() && i > 0; i++) {
              expect(file.get(i)).toEqual(mem.get(i));
            }
          }
          file.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('FileStableStore', () => {
  it('starts at term 0 and keeps the last saved term and vote', () => {
    const s = new FileStableStore(dir);
    expect(s.load()).toEqual({ term: 0, votedFor: null });
    s.save({ term: 3, votedFor: 'n2' });
    s.save({ term: 4, votedFor: null });
    expect(new FileStableStore(dir).load()).toEqual({ term: 4, votedFor: null });
  });

  it('refuses a damaged record', () => {
    new FileStableStore(dir).save({ term: 3, votedFor: 'n2' });
    const file = path.join(dir, 'hard-state.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"term":3', '"term":9'));
    expect(() => new FileStableStore(dir).load()).toThrow(RaftCorruptionError);
  });
});

describe('FileSnapshotStore', () => {
  const meta = (index: number) => ({
    index,
    term: 2,
    configuration: { servers: [{ id: 'a', address: 'a', suffrage: 'voter' as const }] },
    configurationIndex: 1,
  });

  it('returns the newest snapshot after reopen and keeps only the retained ones', () => {
    const s = new FileSnapshotStore(dir, { retain: 2 });
    for (const i of [10, 20, 30]) s.save({ meta: meta(i), data: new Uint8Array([i]) });
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.snap'))).toHaveLength(2);
    const r = new FileSnapshotStore(dir);
    expect(r.latest()?.meta).toEqual(meta(30));
    expect([...r.latest()!.data]).toEqual([30]);
  });

  it('refuses a damaged snapshot', () => {
    new FileSnapshotStore(dir).save({ meta: meta(5), data: new Uint8Array(100).fill(7) });
    const file = path.join(
      dir,
      fs.readdirSync(dir).find((n) => n.endsWith('.snap'))!,
    );
    const buf = fs.readFileSync(file);
    buf[buf.length - 20] = 0;
    fs.writeFileSync(file, buf);
    expect(() => new FileSnapshotStore(dir)).toThrow(/checksum mismatch/);
  });
});
