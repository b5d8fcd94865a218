import { open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { TsswarmError, ErrorCode } from '../../api/errors.js';

export interface LockOptions {
  /** How long to wait for another live process to release the lock. */
  timeoutMs: number;
  pollMs: number;
}

export function defaultLockOptions(): LockOptions {
  return { timeoutMs: 60_000, pollMs: 10 };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` while holding the lock file `path` (created O_EXCL, holding our pid). A lock whose
 * owner is dead is broken: renamed away first, so two processes that both saw it stale cannot
 * both take it, then checked again before it is dropped.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: LockOptions = defaultLockOptions(),
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await breakIfStale(path);
    if (Date.now() > deadline) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        `timed out after ${options.timeoutMs} ms waiting for the lock ${path}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs + Math.random() * options.pollMs));
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function readOwner(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function breakIfStale(path: string): Promise<void> {
  const owner = await readOwner(path);
  // An unreadable or empty lock may be one being written right now: only a dead pid is stale.
  if (owner === undefined || isAlive(owner)) return;
  const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const movedOwner = await readOwner(aside);
  if (movedOwner !== undefined && movedOwner !== owner && isAlive(movedOwner)) {
    // Someone took the lock between our read and the rename: give it back.
    await rename(aside, path).catch(() => undefined);
    return;
  }
  await unlink(aside).catch(() => undefined);
}
