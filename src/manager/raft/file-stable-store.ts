import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { RaftCorruptionError } from './errors.js';
import { fsyncDir } from './file-log-store.js';
import type { HardState, StableStore } from './types.js';

/**
 * Term and vote in one small file, replaced atomically (write, fsync, rename, fsync the
 * directory), so a crash leaves either the old or the new pair, never a mix.
 */
export class FileStableStore implements StableStore {
  private readonly file: string;
  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'hard-state.json');
    fs.rmSync(`${this.file}.tmp`, { force: true });
  }

  load(): HardState {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { term: 0, votedFor: null };
      throw e;
    }
    let parsed: { term?: unknown; votedFor?: unknown; crc?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new RaftCorruptionError(this.file, 0, 'not valid JSON');
    }
    const { term, votedFor, crc } = parsed;
    if (
      typeof term !== 'number' ||
      !Number.isSafeInteger(term) ||
      term < 0 ||
      (votedFor !== null && typeof votedFor !== 'string') ||
      crc !== checksum(term, votedFor)
    ) {
      throw new RaftCorruptionError(this.file, 0, 'term/vote record fails its checks');
    }
    return { term, votedFor };
  }

  save(state: HardState): void {
    const tmp = `${this.file}.tmp`;
    const body = JSON.stringify({ ...state, crc: checksum(state.term, state.votedFor) });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    fsyncDir(path.dirname(this.file));
  }

  close(): void {}
}

function checksum(term: number, votedFor: string | null): number {
  return crc32(`${term}\u0000${votedFor ?? ''}`);
}
