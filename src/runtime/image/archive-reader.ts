import { createReadStream, createWriteStream } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { invalidArgument } from '../../api/errors.js';
import { asTarError } from './layer-unpacker.js';
import { normaliseEntryPath } from './layer-entry.js';

/** Names of the entries of an uncompressed tarball; reading it whole also proves it is intact. */
export async function listEntries(tarFile: string, what: string): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  const source = pipeline(createReadStream(tarFile), extract);
  try {
    for await (const entry of extract) {
      names.push(entry.header.name);
      entry.resume();
    }
    await source;
  } catch (err) {
    source.catch(() => undefined);
    const e = asTarError(err);
    throw e instanceof Error && e !== err ? invalidArgument(`${what}: ${e.message}`, err) : err;
  }
  return names;
}

/** The regular files of an image archive, written flat into a staging dir and found by path. */
export class ArchiveFiles {
  private readonly files = new Map<string, { file: string; size: number }>();
  private readonly links = new Map<string, string>();

  private constructor(private readonly what: string) {}

  /** Extracts the regular files of `tarFile` into `dir` (names there are counters, not archive paths). */
  static async extract(tarFile: string, dir: string, what: string): Promise<ArchiveFiles> {
    const out = new ArchiveFiles(what);
    const extract = tar.extract();
    const source = pipeline(createReadStream(tarFile), extract);
    let n = 0;
    try {
      for await (const entry of extract) {
        const h = entry.header;
        const path = normaliseEntryPath(h.name);
        if (path === undefined) {
          throw invalidArgument(`${what}: entry "${h.name}" escapes the archive root ("..")`);
        }
        if (h.type === 'file' || h.type === 'contiguous-file' || h.type === null) {
          const file = join(dir, String(n++));
          await pipeline(entry, createWriteStream(file));
          out.files.set(path, { file, size: h.size ?? 0 });
          continue;
        }
        if (h.type === 'symlink' || h.type === 'link') {
          // Old `docker save` links a repeated layer.tar to its first copy.
          const target =
            h.type === 'symlink' && !(h.linkname ?? '').startsWith('/')
              ? posix.join(posix.dirname(path), h.linkname ?? '')
              : (h.linkname ?? '');
          const normal = normaliseEntryPath(target);
          if (normal === undefined) {
            throw invalidArgument(`${what}: link "${h.name}" points outside the archive`);
          }
          out.links.set(path, normal);
        }
        entry.resume();
      }
      await source;
    } catch (err) {
      source.catch(() => undefined);
      const e = asTarError(err);
      throw e instanceof Error && e !== err ? invalidArgument(`${what}: ${e.message}`, err) : err;
    }
    return out;
  }

  /** The staged file for archive path `path` (links followed), or InvalidArgument naming it. */
  get(path: string): { file: string; size: number } {
    let p = normaliseEntryPath(path);
    for (let hops = 0; p !== undefined && hops < 16; hops++) {
      const f = this.files.get(p);
      if (f) return f;
      p = this.links.get(p);
    }
    throw invalidArgument(`${this.what}: "${path}" is named but missing from the archive`);
  }

  has(path: string): boolean {
    try {
      this.get(path);
      return true;
    } catch {
      return false;
    }
  }
}
