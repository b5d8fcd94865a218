import { createReadStream, createWriteStream } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { invalidArgument } from '../../api/errors.js';
import { normaliseEntryPath } from './layer-entry.js';
import { forEachTarEntry } from './tar-entries.js';

/** Names of the entries of an uncompressed tarball; reading it whole also proves it is intact. */
export async function listEntries(tarFile: string, what: string): Promise<string[]> {
  const names: string[] = [];
  await forEachTarEntry(createReadStream(tarFile), what, async ({ header, content }) => {
    names.push(header.name);
    content.resume();
    return Promise.resolve();
  });
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
    let n = 0;
    await forEachTarEntry(createReadStream(tarFile), what, async ({ header: h, content }) => {
      const path = normaliseEntryPath(h.name);
      if (path === undefined) {
        throw invalidArgument(`${what}: entry "${h.name}" escapes the archive root ("..")`);
      }
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const file = join(dir, String(n++));
        await pipeline(content, createWriteStream(file));
        out.files.set(path, { file, size: h.size });
        return;
      }
      if (h.type === 'symlink' || h.type === 'link') {
        // Old `docker save` links a repeated layer.tar to its first copy.
        const target =
          h.type === 'symlink' && !h.linkname.startsWith('/')
            ? posix.join(posix.dirname(path), h.linkname)
            : h.linkname;
        const normal = normaliseEntryPath(target);
        if (normal === undefined) {
          throw invalidArgument(`${what}: link "${h.name}" points outside the archive`);
        }
        out.links.set(path, normal);
      }
      content.resume();
    });
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
}
