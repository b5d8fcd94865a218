import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImageStore } from '../../../src/runtime/image/index.js';
import { busyboxImage } from '../../helpers/images.js';

const users = new Map<string, string[]>();
vi.mock('../../../src/runtime/container/in-use.js', () => ({
  imageInUse: (_dataRoot: string, id: string) => Promise.resolve(users.get(id) ?? []),
}));

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('image in-use tests skipped: needs root');

describe.skipIf(!isRoot)('image removal while containers use the image', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    users.clear();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const freshStore = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-image-inuse-'));
    dirs.push(dir);
    return { dir, store: await ImageStore.open(dir) };
  };

  it('refuses rm without -f, and with -f untags but keeps the layers', async () => {
    const { dir, store } = await freshStore();
    const image = await busyboxImage(dir);
    users.set(image.id, ['web']);
    await expect(store.remove('busybox')).rejects.toThrow(
      /unable to remove repository reference "busybox:latest" \(must force\) - container web is using/,
    );
    expect(await store.remove('busybox', { force: true })).toEqual(['Untagged: busybox:latest']);
    // Dangling but still there: the container's rootfs needs it.
    expect((await store.resolve(image.id)).layerDirs).toEqual(image.layerDirs);
    expect(await readdir(join(dir, 'images/layers'))).toHaveLength(1);
    // prune skips it while it is used, and removes it after.
    expect((await store.prune()).lines).toEqual([]);
    users.clear();
    const pruned = await store.prune();
    expect(pruned.lines).toEqual([
      `deleted: ${image.id}`,
      `deleted: sha256:${image.layerDirs[0]?.split('/').at(-1) ?? ''}`,
    ]);
    expect(pruned.reclaimedBytes).toBeGreaterThan(1_000_000);
    expect(await readdir(join(dir, 'images/layers'))).toEqual([]);
  });

  it('withImage holds off a removal until the container is recorded', async () => {
    const { dir, store } = await freshStore();
    const image = await busyboxImage(dir);
    let removal: Promise<string[]> | undefined;
    await store.withImage('busybox', async (resolved) => {
      removal = store.remove('busybox');
      // The removal cannot take the lock before this function returns: record the container.
      await Promise.resolve();
      users.set(resolved.id, ['web']);
    });
    await expect(removal).rejects.toThrow(/container web is using/);
    expect((await store.resolve('busybox')).id).toBe(image.id);
  });
});
