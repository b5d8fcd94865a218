import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLock } from '../../../../src/runtime/image/lock-file.js';

describe('image store lock file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsswarm-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serialises holders', async () => {
    const lock = join(dir, 'lock');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(lock, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setImmediate(r));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it('breaks a lock whose owner is dead', async () => {
    const lock = join(dir, 'lock');
    // pid_max is at most 4194304: this pid cannot exist.
    await writeFile(lock, '4194305\n');
    expect(await withLock(lock, async () => readFile(lock, 'utf8'))).toMatch(
      new RegExp(`^${process.pid} \\d+\n$`),
    );
  });

  it('breaks a lock whose pid now belongs to another process', async () => {
    const lock = join(dir, 'lock');
    // Our own pid, but a start time that is not ours: the owner died and the pid was reused.
    await writeFile(lock, `${process.pid} 1\n`);
    expect(await withLock(lock, () => Promise.resolve('taken'))).toBe('taken');
  });

  it('waits for a live owner and gives up at the deadline', async () => {
    const lock = join(dir, 'lock');
    await writeFile(lock, `${process.pid}\n`);
    await expect(
      withLock(lock, () => Promise.resolve(1), { timeoutMs: 50, pollMs: 5 }),
    ).rejects.toThrow(/timed out after 50 ms waiting for the lock/);
  });
});
