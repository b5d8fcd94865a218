import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Lab names are host-wide (netns and cgroup names carry them) while lab dirs are per data-root.
 * A claim file per name, in /run like /run/netns so both go at reboot, records which lab dir
 * owns the kernel objects, so `lab rm` from another data-root never touches them.
 */
export const defaultClaimDir = '/run/tsswarm-labs';

export async function readClaim(claimDir: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(join(claimDir, name), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes the name for `owner` (a lab dir). A claim whose owner dir is gone is stale and taken
 * over. Returns the live owner that holds it instead, or undefined once it is ours.
 */
export async function claimLabName(
  claimDir: string,
  name: string,
  owner: string,
): Promise<string | undefined> {
  await mkdir(claimDir, { recursive: true, mode: 0o755 });
  const file = join(claimDir, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      try {
        await fh.writeFile(`${owner}\n`);
      } finally {
        await fh.close();
      }
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readClaim(claimDir, name);
    if (holder !== undefined && holder !== '' && existsSync(holder)) return holder;
    await rm(file, { force: true });
  }
  return (await readClaim(claimDir, name)) ?? 'another lab being created';
}

export async function releaseClaim(claimDir: string, name: string): Promise<void> {
  await rm(join(claimDir, name), { force: true });
}
