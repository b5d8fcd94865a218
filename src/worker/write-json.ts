import { open, rename } from 'node:fs/promises';

/** Temp file, fsync, rename: a crash leaves the old file or the new one, never half of one. */
export async function writeJsonAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
