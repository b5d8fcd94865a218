import { posix } from 'node:path';

/** The parts of a tar header that decide what an entry becomes on disk. */
export interface LayerEntryHeader {
  name: string;
  type: string | null;
  linkname?: string | null;
}

export type LayerEntryPlan =
  /** Write the entry at `path` (relative, normalised; "." is the layer root). */
  | { kind: 'write'; path: string; linkname?: string }
  /** `.wh.NAME`: overlayfs hides a lower NAME behind a 0/0 character device. */
  | { kind: 'whiteout'; path: string }
  /** `.wh..wh..opq`: overlayfs hides all lower content of `dir` when it has trusted.overlay.opaque=y. */
  | { kind: 'opaque'; dir: string }
  | { kind: 'skip'; reason: string }
  | { kind: 'refuse'; reason: string };

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';
const writableTypes = new Set([
  'file',
  'contiguous-file',
  'directory',
  'symlink',
  'link',
  'character-device',
  'block-device',
  'fifo',
]);

/**
 * A tar member name as a path relative to the layer root, or undefined when it would leave the
 * root (a `..` component). Leading slashes and `./` are dropped, as Docker does.
 */
export function normaliseEntryPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return undefined;
    parts.push(p);
  }
  return parts.length === 0 ? '.' : parts.join('/');
}

/** True when a symlink at `path` pointing at `target` resolves inside the root, as Docker requires. */
export function symlinkStaysInside(path: string, target: string): boolean {
  if (target.startsWith('/')) return true; // resolved against the container's root at run time
  const joined = posix.normalize(posix.join(posix.dirname(path), target));
  return joined !== '..' && !joined.startsWith('../');
}

/**
 * Decides what one entry of a layer tarball becomes. Stateful only in the symlinks seen so far,
 * so that an entry written *through* a symlink of the same layer is refused.
 */
export class LayerEntryPlanner {
  private readonly symlinks = new Set<string>();

  plan(header: LayerEntryHeader): LayerEntryPlan {
    const type = header.type ?? 'file';
    const path = normaliseEntryPath(header.name);
    if (path === undefined) {
      return { kind: 'refuse', reason: `entry "${header.name}" escapes the layer root ("..")` };
    }
    const through = this.symlinkAncestor(path);
    if (through !== undefined) {
      return {
        kind: 'refuse',
        reason: `entry "${header.name}" is written through the symlink "${through}"`,
      };
    }
    const base = posix.basename(path);
    const dir = posix.dirname(path);
    if (base.startsWith(whiteoutPrefix)) {
      if (base === opaqueMarker) return { kind: 'opaque', dir };
      // Other .wh..wh. names are aufs bookkeeping (hard-link dirs), meaningless to overlayfs.
      if (base.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) {
        return { kind: 'skip', reason: `aufs metadata "${header.name}"` };
      }
      const target = base.slice(whiteoutPrefix.length);
      return { kind: 'whiteout', path: dir === '.' ? target : `${dir}/${target}` };
    }
    if (!writableTypes.has(type)) {
      return { kind: 'skip', reason: `entry "${header.name}" of type ${type}` };
    }
    if (type === 'symlink') {
      const target = header.linkname ?? '';
      if (target === '')
        return { kind: 'refuse', reason: `symlink "${header.name}" has no target` };
      if (!symlinkStaysInside(path, target)) {
        return {
          kind: 'refuse',
          reason: `symlink "${header.name}" -> "${target}" points outside the layer root`,
        };
      }
      this.symlinks.add(path);
      return { kind: 'write', path, linkname: target };
    }
    if (type === 'link') {
      const target = normaliseEntryPath(header.linkname ?? '');
      if (target === undefined || target === '.') {
        return {
          kind: 'refuse',
          reason: `hard link "${header.name}" -> "${header.linkname ?? ''}" points outside the layer root`,
        };
      }
      const via = this.symlinkAncestor(target) ?? (this.symlinks.has(target) ? target : undefined);
      if (via !== undefined) {
        return {
          kind: 'refuse',
          reason: `hard link "${header.name}" -> "${header.linkname ?? ''}" goes through the symlink "${via}"`,
        };
      }
      return { kind: 'write', path, linkname: target };
    }
    if (type === 'directory' && this.symlinks.has(path)) {
      // tar would follow the symlink and change the directory it points to.
      return {
        kind: 'refuse',
        reason: `directory "${header.name}" replaces a symlink of the same layer`,
      };
    }
    return { kind: 'write', path };
  }

  private symlinkAncestor(path: string): string | undefined {
    if (this.symlinks.size === 0) return undefined;
    let p = posix.dirname(path);
    while (p !== '.' && p !== '/') {
      if (this.symlinks.has(p)) return p;
      p = posix.dirname(p);
    }
    return undefined;
  }
}
