import { readFileSync } from 'node:fs';
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

interface Owner {
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22). */
  startTime?: string;
}

/** Start time of `pid`, so that a recycled pid is not taken for the lock's owner. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM means the process exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(owner.pid);
  return owner.startTime === undefined || now === undefined || now === owner.startTime;
}

const ownLine = () => `${process.pid} ${startTimeOf(process.pid) ?? ''}`.trim() + '\n';

/**
 * Runs `fn` while holding the lock file `path` (created O_EXCL, holding our pid and its start
 * time, so a recycled pid does not look like the owner). A lock whose owner is dead is broken: renamed away first, so two processes that both saw it stale cannot
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
        await fh.writeFile(ownLine());
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

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const [pidText, startTime] = (await readFile(path, 'utf8')).trim().split(' ');
    const pid = Number.parseInt(pidText ?? '', 10);
    if (!Number.isFinite(pid) || pid <= 0) return undefined;
    return startTime ? { pid, startTime } : { pid };
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
  if (movedOwner !== undefined && movedOwner.pid !== owner.pid && isAlive(movedOwner)) {
    // Someone took the lock between our read and the rename: give it back.
    await rename(aside, path).catch(() => undefined);
    return;
  }
  await unlink(aside).catch(() => undefined);
}
