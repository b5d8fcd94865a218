import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import { unpackLayer, type LayerWriterHost } from '../../../../src/runtime/image/layer-unpacker.js';
import { tarOf } from '../../../helpers/images.js';

interface Written {
  name: string;
  type: string;
  devmajor: number;
  devminor: number;
  mode: number;
  linkname: string | null;
  pax: Record<string, string> | null;
  content: string;
}

/** A host that records the sanitised stream instead of writing to disk. */
function recordingHost(): LayerWriterHost & { entries: Written[] } {
  const entries: Written[] = [];
  return {
    entries,
    async write(sanitised) {
      const extract = tar.extract();
      const fed = pipeline(sanitised, extract as unknown as NodeJS.WritableStream);
      fed.catch(() => undefined);
      for await (const e of extract) {
        let content = '';
        for await (const c of e) content += (c as Buffer).toString();
        const h = e.header;
        entries.push({
          name: h.name,
          type: h.type,
          devmajor: h.devmajor,
          devminor: h.devminor,
          mode: h.mode,
          linkname: h.linkname ?? null,
          pax: (h.pax as Record<string, string> | null) ?? null,
          content,
        });
      }
      await fed;
    },
  };
}

describe('unpackLayer mapping (no root: recorded host)', () => {
  it('turns .wh. files into 0/0 character devices and .wh..wh..opq into an opaque xattr', async () => {
    const layer = await tarOf([
      { name: 'etc/', type: 'directory', mode: 0o750 },
      { name: 'etc/.wh.passwd' },
      { name: 'var/', type: 'directory' },
      { name: 'var/cache/', type: 'directory', mode: 0o700, uid: 5 },
      { name: 'var/cache/.wh..wh..opq' },
      { name: 'var/cache/new', content: 'fresh' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'keep', content: 'x', pax: { 'SCHILY.xattr.user.k': 'v', comment: 'dropped' } },
    ]);
    const host = recordingHost();
    await unpackLayer(Readable.from([layer]), '/nonexistent', host);
    const byName = (n: string) => host.entries.filter((e) => e.name.replace(/\/$/, '') === n);
    expect(byName('etc/passwd')).toEqual([
      expect.objectContaining({ type: 'character-device', devmajor: 0, devminor: 0 }),
    ]);
    expect(host.entries.some((e) => e.name.includes('.wh.'))).toBe(false);
    const cache = byName('var/cache');
    expect(cache).toHaveLength(2);
    expect(cache[1]).toMatchObject({
      type: 'directory',
      mode: 0o700,
      pax: expect.objectContaining({ 'SCHILY.xattr.trusted.overlay.opaque': 'y' }) as unknown,
    });
    expect(byName('var/cache/new')[0]?.content).toBe('fresh');
    expect(byName('bin/sh')[0]).toMatchObject({ type: 'symlink', linkname: '/bin/busybox' });
    const keep = byName('keep')[0]?.pax ?? {};
    expect(keep['SCHILY.xattr.user.k']).toBe('v');
    expect(keep['comment']).toBeUndefined();
  });

  it('refuses a traversal with an error naming the entry', async () => {
    const layer = await tarOf([{ name: 'ok', content: 'x' }, { name: '../../etc/cron.d/x' }]);
    await expect(
      unpackLayer(Readable.from([layer]), '/nonexistent', recordingHost()),
    ).rejects.toThrow(/entry "..\/..\/etc\/cron.d\/x" escapes the layer root/);
  });

  it('refuses a truncated tarball', async () => {
    const layer = await tarOf([{ name: 'big', content: Buffer.alloc(10_000, 1) }]);
    await expect(
      unpackLayer(Readable.from([layer.subarray(0, 3000)]), '/nonexistent', recordingHost()),
    ).rejects.toThrow(/corrupt or truncated tarball/);
  });
});
