import { open, readFile, rm } from 'node:fs/promises';
import { TsswarmError, ErrorCode } from '../api/errors.js';
import type { LabHost } from './lab-host.js';

/**
 * Serialises the read-modify-write of one lab.json (e2e tests partition one node while they
 * restart another). The lock file holds the owner's pid and start time, so a lock left by a
 * crashed command is broken rather than waited on forever.
 */
export async function withLabLock<T>(
  host: LabHost,
  file: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const me = `${process.pid} ${host.startTimeOf(process.pid) ?? ''}\n`;
  for (;;) {
    try {
      const fh = await open(file, 'wx', 0o644);
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pid, startTime] = (await readFile(file, 'utf8').catch(() => '')).trim().split(' ');
    const owner = Number(pid);
    // An empty file is a lock being written this instant: only a dead owner is stale.
    if (owner > 0 && host.startTimeOf(owner) !== startTime) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TsswarmError(ErrorCode.Unavailable, `timed out waiting for the lab lock ${file}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
