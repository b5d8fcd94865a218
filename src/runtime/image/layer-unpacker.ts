import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';

type HeaderArgument = Partial<Header> & Pick<Header, 'name'>;
import { ErrorCode, TsswarmError, invalidArgument } from '../../api/errors.js';
import { forEachTarEntry } from './tar-entries.js';
import { LayerEntryPlanner } from './layer-entry.js';

/**
 * The kernel side of unpacking: writes a tar stream that has already been checked and mapped
 * to overlay semantics into `dir`, keeping owners, modes, device numbers and xattrs. Node has
 * neither mknod nor setxattr, so the real host hands the stream to GNU tar.
 */
export interface LayerWriterHost {
  write(sanitised: Readable, dir: string): Promise<void>;
}

export const gnuTarWriter: LayerWriterHost = {
  async write(sanitised, dir) {
    const child = spawn(
      'tar',
      [
        '-x',
        '-f',
        '-',
        '-C',
        dir,
        '--numeric-owner',
        '--same-owner',
        '--same-permissions',
        '--xattrs',
        '--xattrs-include=*',
        '--warning=no-unknown-keyword',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    const fed = pipeline(sanitised, child.stdin).catch((err: unknown) => err);
    const [code, signal] = await exited;
    const feedError = await fed;
    if (code !== 0) {
      throw new TsswarmError(
        ErrorCode.Internal,
        `tar -x into ${dir} failed (${signal ?? `exit ${String(code)}`}): ${stderr.trim()}`,
      );
    }
    if (feedError instanceof Error) throw feedError;
  },
};

const xattrPrefix = 'SCHILY.xattr.';

function keptPax(pax: unknown): Record<string, string> | undefined {
  if (typeof pax !== 'object' || pax === null) return undefined;
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(pax as Record<string, unknown>)) {
    // tar-stream decodes pax values as UTF-8: a binary xattr (security.capability) arrives
    // mangled, and a wrong capability is worse than none.
    if (!k.startsWith(xattrPrefix) || typeof v !== 'string' || v.includes('\uFFFD')) continue;
    (out ??= {})[k] = v;
  }
  return out;
}

/**
 * Unpacks one layer tarball (uncompressed) into the empty directory `dir`: refuses path
 * traversal, maps `.wh.NAME` to a 0/0 character device and `.wh..wh..opq` to the directory's
 * trusted.overlay.opaque=y xattr. Throws InvalidArgument for a bad or corrupt tarball.
 */
export async function unpackLayer(
  layer: Readable,
  dir: string,
  host: LayerWriterHost = gnuTarWriter,
  what = 'layer',
): Promise<void> {
  const pack = tar.pack();
  const planner = new LayerEntryPlanner();
  const dirHeaders = new Map<string, HeaderArgument>();
  const written = host.write(pack as unknown as Readable, dir);
  // If the writer fails early, stop reading; the error surfaces from `written`.
  written.catch(() => layer.destroy());

  const feed = () =>
    forEachTarEntry(layer, what, async (entry) => {
      const h = entry.header;
      const content = entry.content;
      const plan = planner.plan(h);
      switch (plan.kind) {
        case 'refuse':
          throw invalidArgument(`${what}: refused: ${plan.reason}`);
        case 'skip':
          content.resume();
          break;
        case 'whiteout':
          content.resume();
          pack.entry({
            name: plan.path,
            type: 'character-device',
            devmajor: 0,
            devminor: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: h.mtime ?? new Date(0),
          });
          break;
        case 'opaque': {
          content.resume();
          const seen = dirHeaders.get(plan.dir);
          // A second entry for the directory carries the xattr; tar applies it to the
          // directory it already made (or makes it, when the layer had no entry for it).
          pack.entry({
            name: plan.dir,
            type: 'directory',
            mode: seen?.mode ?? 0o755,
            uid: seen?.uid ?? 0,
            gid: seen?.gid ?? 0,
            mtime: seen?.mtime ?? h.mtime ?? new Date(0),
            pax: { ...(keptPax(seen?.pax) ?? {}), [`${xattrPrefix}trusted.overlay.opaque`]: 'y' },
          });
          break;
        }
        case 'write': {
          const pax = keptPax(h.pax);
          const type = h.type === 'contiguous-file' ? 'file' : (h.type ?? 'file');
          const header: HeaderArgument = {
            name: plan.path,
            type,
            mode: h.mode ?? 0o644,
            uid: h.uid ?? 0,
            gid: h.gid ?? 0,
            mtime: h.mtime ?? new Date(0),
            size: type === 'file' ? (h.size ?? 0) : 0,
            ...(h.uname ? { uname: h.uname } : {}),
            ...(h.gname ? { gname: h.gname } : {}),
            ...(plan.linkname !== undefined ? { linkname: plan.linkname } : {}),
            ...(h.devmajor !== undefined ? { devmajor: h.devmajor } : {}),
            ...(h.devminor !== undefined ? { devminor: h.devminor } : {}),
            ...(pax ? { pax } : {}),
          };
          if (type === 'directory') dirHeaders.set(plan.path, header);
          if (type === 'file') {
            await pipeline(content, pack.entry(header));
          } else {
            content.resume();
            pack.entry(header);
          }
          break;
        }
      }
    });

  try {
    await feed();
    pack.finalize();
  } catch (err) {
    pack.destroy();
    await written.catch(() => undefined);
    throw err;
  }
  await written;
}
