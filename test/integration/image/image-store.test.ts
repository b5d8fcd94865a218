import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore } from '../../../src/runtime/image/index.js';
import {
  busyboxImage,
  busyboxRootfsTar,
  dockerSaveTar,
  ociLayoutTar,
  sha256Hex,
  tarOf,
  writeTemp,
} from '../../helpers/images.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const overlayOk = existsSync('/proc/filesystems')
  ? (await readFile('/proc/filesystems', 'utf8')).includes('overlay')
  : false;
const skipReason = !isRoot ? 'needs root' : !overlayOk ? 'needs overlayfs' : undefined;
if (skipReason) console.warn(`image store integration tests skipped: ${skipReason}`);

const base = () =>
  tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0\n' },
    { name: 'etc/hosts', content: '127.0.0.1 localhost\n' },
    { name: 'data/', type: 'directory', mode: 0o750, uid: 7, gid: 8 },
    { name: 'data/old1', content: 'old' },
    { name: 'data/sub/', type: 'directory' },
    { name: 'data/sub/old2', content: 'old' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
    { name: 'bin/tool-link', type: 'link', linkname: 'bin/tool' },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/tool' },
    { name: 'pipe', type: 'fifo' },
    { name: 'dev/', type: 'directory' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'noted', content: 'x', pax: { 'SCHILY.xattr.user.note': 'hello' } },
  ]);
const top = () =>
  tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.passwd' },
    { name: 'data/', type: 'directory', mode: 0o750, uid: 7, gid: 8 },
    { name: 'data/.wh..wh..opq' },
    { name: 'data/new', content: 'new' },
  ]);

/** Every path under `dir` with its size, to prove a failed import changed nothing. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const s = await lstat(p);
      out.push(`${p.slice(dir.length)} ${s.isDirectory() ? 'dir' : s.size}`);
      if (s.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

/** The xattrs of `dir/name`, read back through GNU tar (Node has no getxattr). */
async function xattrsOf(dir: string, name: string): Promise<Record<string, string>> {
  const { stdout } = await run(
    'tar',
    ['--xattrs', '--xattrs-include=*', '--no-recursion', '-cf', '-', '-C', dir, name],
    { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
  );
  const out: Record<string, string> = {};
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      for (const [k, v] of Object.entries((entry.header.pax ?? {}) as Record<string, string>)) {
        if (k.startsWith('SCHILY.xattr.')) out[k.slice('SCHILY.xattr.'.length)] = v;
      }
      entry.resume();
    }
  })();
  extract.end(stdout);
  await done;
  return out;
}

describe.skipIf(skipReason !== undefined)('image store (root, real filesystem)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let dataRoot: string;

  beforeAll(async () => {
    await busyboxRootfsTar();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  const freshRoot = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-image-it-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };
  const tempFile = async (data: Buffer) => {
    const file = await writeTemp(data);
    cleanups.push(() => rm(join(file, '..'), { recursive: true, force: true }));
    return file;
  };

  /** Mounts the layers with overlayfs and runs `fn` on the merged dir; always unmounts. */
  const withOverlay = async (layerDirs: string[], fn: (merged: string) => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-image-ovl-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    for (const d of ['upper', 'work', 'merged']) await mkdir(join(dir, d));
    const lower = [...layerDirs].reverse().join(':');
    await run('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`,
      `${dir}/merged`,
    ]);
    try {
      await fn(join(dir, 'merged'));
    } finally {
      await run('umount', [`${dir}/merged`]);
    }
  };

  it('imports a docker save tarball of two layers with whiteouts that overlayfs honours', async () => {
    dataRoot = await freshRoot();
    const layers = [await base(), await top()];
    const file = await tempFile(
      await dockerSaveTar([{ layers, tags: ['docker.io/library/app:1'], gzipLayers: true }]),
    );
    const store = await ImageStore.open(dataRoot);
    const [image] = await store.import(file);
    expect(image?.ref).toBe('app:1');
    expect(image?.config).toEqual({ Cmd: ['sh'] });
    const resolved = await store.resolve('app:1');
    expect(resolved.layerDirs).toEqual(
      layers.map((l) => join(dataRoot, 'images', 'layers', sha256Hex(l))),
    );
    const [lower, upper] = resolved.layerDirs as [string, string];
    // On disk: the whiteout is a 0/0 character device; owners, modes and links kept.
    const wh = await stat(join(upper, 'etc/passwd'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    const data = await stat(join(lower, 'data'));
    expect([data.mode & 0o7777, data.uid, data.gid]).toEqual([0o750, 7, 8]);
    expect((await stat(join(lower, 'bin/tool'))).ino).toBe(
      (await stat(join(lower, 'bin/tool-link'))).ino,
    );
    expect((await lstat(join(lower, 'bin/sh'))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(lower, 'pipe'))).isFIFO()).toBe(true);
    const dev = await stat(join(lower, 'dev/null'));
    expect([dev.isCharacterDevice(), dev.rdev]).toEqual([true, (1 << 8) | 3]);
    expect(await xattrsOf(lower, 'noted')).toMatchObject({ 'user.note': 'hello' });
    expect(await xattrsOf(upper, 'data')).toMatchObject({ 'trusted.overlay.opaque': 'y' });

    await withOverlay(resolved.layerDirs, async (merged) => {
      expect(existsSync(join(merged, 'etc/passwd'))).toBe(false);
      expect(await readFile(join(merged, 'etc/hosts'), 'utf8')).toContain('localhost');
      expect((await readdir(join(merged, 'data'))).sort()).toEqual(['new']);
    });
  });

  it('imports an OCI layout tarball and a plain rootfs', async () => {
    dataRoot = await freshRoot();
    const layers = [await base(), await top()];
    const oci = await tempFile(
      gzipSync(
        await ociLayoutTar([
          { layers, tags: ['registry.local:5000/team/app:2'], gzipLayers: true },
        ]),
      ),
    );
    const store = await ImageStore.open(dataRoot);
    const [image] = await store.import(oci);
    expect(image?.ref).toBe('registry.local:5000/team/app:2');
    const inspect = await store.inspect('registry.local:5000/team/app:2');
    expect(inspect.RootFS.Layers).toEqual(layers.map((l) => `sha256:${sha256Hex(l)}`));
    await withOverlay(image?.layerDirs ?? [], async (merged) => {
      expect((await readdir(join(merged, 'data'))).sort()).toEqual(['new']);
    });

    const busybox = await busyboxImage(dataRoot);
    expect(busybox.ref).toBe('busybox:latest');
    expect(busybox.config.Cmd).toEqual(['sh']);
    expect((await stat(join(busybox.layerDirs[0] ?? '', 'bin/busybox'))).isFile()).toBe(true);
    expect((await store.resolve(busybox.id.slice(7, 13))).id).toBe(busybox.id);
    expect((await store.list()).map((r) => `${r.repository}:${r.tag}`).sort()).toEqual([
      'busybox:latest',
      'registry.local:5000/team/app:2',
    ]);
  });

  it('unpacks a base layer shared by two images once, and rm keeps it until the last user goes', async () => {
    dataRoot = await freshRoot();
    const shared = await base();
    const a = await tempFile(await dockerSaveTar([{ layers: [shared], tags: ['a:1'] }]));
    const b = await tempFile(
      await dockerSaveTar([{ layers: [shared, await top()], tags: ['b:1'] }]),
    );
    const store = await ImageStore.open(dataRoot);
    const [imageA] = await store.import(a);
    const sharedDir = imageA?.layerDirs[0] ?? '';
    const before = await stat(sharedDir);
    const [imageB] = await store.import(b);
    expect(imageB?.layerDirs[0]).toBe(sharedDir);
    const after = await stat(sharedDir);
    expect([after.ino, after.ctimeMs]).toEqual([before.ino, before.ctimeMs]);
    expect(await readdir(join(dataRoot, 'images/layers'))).toHaveLength(2);

    expect(await store.remove('b:1')).toEqual([
      'Untagged: b:1',
      `Deleted: ${imageB?.id ?? ''}`,
      `Deleted: sha256:${sha256Hex(await top())}`,
    ]);
    expect(await readdir(join(dataRoot, 'images/layers'))).toEqual([sha256Hex(shared)]);
    await store.tag('a:1', 'a:latest');
    expect(await store.remove('a')).toEqual(['Untagged: a:latest']);
    await store.remove('a:1');
    expect(await readdir(join(dataRoot, 'images/layers'))).toEqual([]);
    expect(await readdir(join(dataRoot, 'images/blobs/sha256'))).toEqual([]);
    await expect(store.resolve('a:1')).rejects.toThrow('No such image: a:1');
  });

  it('save then import keeps the image id and the layer diff ids', async () => {
    dataRoot = await freshRoot();
    const store = await ImageStore.open(dataRoot);
    const layers = [await base(), await top()];
    const [image] = await store.import(
      await tempFile(await dockerSaveTar([{ layers, tags: ['app:1'], gzipLayers: true }])),
    );
    const saved = join(await freshRoot(), 'out.tar');
    await store.save(['app:1'], saved);
    const other = await ImageStore.open(await freshRoot());
    const [again] = await other.import(saved);
    expect(again?.id).toBe(image?.id);
    expect(again?.ref).toBe('app:1');
    expect((await other.inspect('app:1')).RootFS.Layers).toEqual(
      (await store.inspect('app:1')).RootFS.Layers,
    );
    const { stdout } = await run('tar', ['-tf', saved]);
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining(['manifest.json', 'repositories', 'index.json', 'oci-layout']),
    );
  });

  it('refuses corrupt, truncated, mismatched and traversing tarballs and leaves no new file', async () => {
    dataRoot = await freshRoot();
    const store = await ImageStore.open(dataRoot);
    await busyboxImage(dataRoot);
    const before = await snapshot(join(dataRoot, 'images'));
    const good = await dockerSaveTar([{ layers: [await base(), await top()], tags: ['x:1'] }]);

    const corrupt = Buffer.from(good);
    corrupt.fill(0x41, 512 * 3, 512 * 3 + 64); // clobber a header in the middle
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const gzTruncated = gzipSync(good).subarray(0, 300);
    const badLayers = [await base()];
    const mismatch = await dockerSaveTar([{ layers: badLayers, tags: ['x:1'] }]);
    // Swap the layer content for another one: the config's diff id no longer matches.
    const swapped = Buffer.from(
      mismatch.toString('latin1').replace('root:x:0:0\n', 'ROOT:x:0:0\n'),
      'latin1',
    );
    const evil = await dockerSaveTar([
      { layers: [await tarOf([{ name: '../../escape', content: 'x' }])], tags: ['x:1'] },
    ]);
    const ociTampered = Buffer.from(
      (await ociLayoutTar([{ layers: [await base()], tags: ['o:1'] }]))
        .toString('latin1')
        .replace('root:x:0:0\n', 'ROOT:x:0:0\n'),
      'latin1',
    );
    const cases: [Buffer, RegExp][] = [
      [ociTampered, /blobs\/sha256\/[0-9a-f]{64} has digest sha256:[0-9a-f]{64}, expected sha256:/],
      [corrupt, /corrupt or truncated/],
      [truncated, /corrupt or truncated/],
      [gzTruncated, /corrupt or truncated gzip|corrupt or truncated/],
      [swapped, /has digest sha256:[0-9a-f]+ but the image config says/],
      [evil, /escapes the layer root/],
      [Buffer.alloc(0), /empty input/],
      [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]), /zstd compression is not supported/],
    ];
    for (const [data, message] of cases) {
      await expect(store.import(await tempFile(data))).rejects.toThrow(message);
      expect(await snapshot(join(dataRoot, 'images'))).toEqual(before);
    }
    await expect(store.import(join(dataRoot, 'missing.tar'))).rejects.toThrow(/ENOENT/);
    await expect(store.import(await tempFile(good), { changes: ['CMD ["sh"]'] })).rejects.toThrow(
      /--change applies to a plain rootfs tarball/,
    );
    expect(await snapshot(join(dataRoot, 'images'))).toEqual(before);
  });

  it('ends consistent after 4 concurrent CLI imports and a removal', async () => {
    dataRoot = await freshRoot();
    const cli = join(import.meta.dirname, '../../../bin/tsswarm');
    if (!existsSync(join(import.meta.dirname, '../../../dist/tsswarm.mjs'))) {
      await run('node', [join(import.meta.dirname, '../../../scripts/build.mjs')]);
    }
    const shared = await base();
    const files = [
      await tempFile(await dockerSaveTar([{ layers: [shared], tags: ['c1:1'] }])),
      await tempFile(await dockerSaveTar([{ layers: [shared, await top()], tags: ['c2:1'] }])),
      await tempFile(await busyboxRootfsTar()),
      await tempFile(await busyboxRootfsTar()),
    ];
    const names = [undefined, undefined, 'bb1', 'bb2'];
    const store = await ImageStore.open(dataRoot);
    await busyboxImage(dataRoot); // removed while the others import
    await Promise.all([
      ...files.map((f, i) =>
        run(cli, [
          '--data-root',
          dataRoot,
          'image',
          'import',
          f,
          ...(names[i] ? ['--name', names[i]] : []),
        ]),
      ),
      run(cli, ['--data-root', dataRoot, 'rmi', 'busybox']),
    ]);
    const refs = (await store.list()).map((r) => `${r.repository}:${r.tag}`).sort();
    expect(refs).toEqual(['bb1:latest', 'bb2:latest', 'c1:1', 'c2:1']);
    // Every layer and blob an image needs is there, with the right digest; nothing else is.
    const wantedLayers = new Set<string>();
    const wantedBlobs = new Set<string>();
    for (const ref of refs) {
      const i = await store.inspect(ref);
      wantedBlobs.add(i.Id.slice(7));
      for (const l of i.RootFS.Layers) {
        wantedLayers.add(l.slice(7));
        wantedBlobs.add(l.slice(7));
      }
    }
    expect((await readdir(join(dataRoot, 'images/layers'))).sort()).toEqual(
      [...wantedLayers].sort(),
    );
    const blobs = await readdir(join(dataRoot, 'images/blobs/sha256'));
    for (const b of wantedBlobs) expect(blobs).toContain(b);
    for (const b of blobs) {
      expect(sha256Hex(await readFile(join(dataRoot, 'images/blobs/sha256', b)))).toBe(b);
    }
    // Plus one manifest per image: bb1 and bb2 differ by creation time, so all four differ.
    expect(blobs).toHaveLength(wantedBlobs.size + refs.length);
    expect(await readdir(join(dataRoot, 'images/tmp'))).toEqual([]);
    expect(existsSync(join(dataRoot, 'images/lock'))).toBe(false);
    const index = JSON.parse(await readFile(join(dataRoot, 'images/index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    expect(
      index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(),
    ).toEqual(refs);
  });

  it('writes nothing for a bad --change or name', async () => {
    dataRoot = await freshRoot();
    const store = await ImageStore.open(dataRoot);
    const before = await snapshot(join(dataRoot, 'images'));
    const tar = await tempFile(await busyboxRootfsTar());
    await expect(store.import(tar, { changes: ['ONBUILD RUN x'] })).rejects.toThrow(/ONBUILD/);
    await expect(store.import(tar, { name: 'Bad:Name' })).rejects.toThrow(/invalid reference/);
    expect(await snapshot(join(dataRoot, 'images'))).toEqual(before);
  });
});
