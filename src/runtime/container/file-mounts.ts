// Secrets and configs of tasks: files bind-mounted read-only into the container.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../api/errors.js';
import type { ContainerPaths } from './container-store.js';
import type { ContainerHost } from './host.js';
import type { FileMount, MountRecord } from './types.js';

/** The container's in-memory directory for secrets. */
export function secretsDir(p: ContainerPaths): string {
  return join(p.dir, 'secrets');
}

/** Secrets and configs are small files; the limit keeps a container's tmpfs small too. */
const maxFileMountBytes = 500 * 1024;

export function checkFileMount(f: FileMount): void {
  if (!f.target.startsWith('/')) {
    throw invalidArgument(`invalid file target "${f.target}": must be absolute`);
  }
  if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777) {
    throw invalidArgument(`invalid file mode ${f.mode.toString(8)} for ${f.target}`);
  }
  for (const [what, v] of [
    ['uid', f.uid],
    ['gid', f.gid],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw invalidArgument(`invalid ${what} ${v} for ${f.target}`);
  }
  if (f.data.byteLength > maxFileMountBytes) {
    throw invalidArgument(`file for ${f.target} is over ${maxFileMountBytes} bytes`);
  }
}

/**
 * Secrets go on a tmpfs of the container's own (never on disk), configs into its directory;
 * each file is bind-mounted read-only at its target with the owner and mode asked for.
 */
export function writeFiles(
  host: ContainerHost,
  p: ContainerPaths,
  files: readonly FileMount[],
): MountRecord[] {
  if (files.length === 0) return [];
  const out: MountRecord[] = [];
  const memDir = secretsDir(p);
  const diskDir = join(p.dir, 'configs');
  if (files.some((f) => f.inMemory)) {
    mkdirSync(memDir, { recursive: true, mode: 0o700 });
    host.mountTmpfs(memDir, 'mode=0700,size=8m,nosuid,nodev,noexec');
  }
  if (files.some((f) => !f.inMemory)) mkdirSync(diskDir, { recursive: true, mode: 0o700 });
  files.forEach((f, i) => {
    const path = join(f.inMemory ? memDir : diskDir, String(i));
    writeFileSync(path, f.data, { mode: f.mode });
    chmodSync(path, f.mode);
    chownSync(path, f.uid, f.gid);
    out.push({
      Type: 'bind',
      Source: path,
      Destination: f.target,
      Mode: 'ro',
      RW: false,
      Propagation: 'rprivate',
    });
  });
  return out;
}
