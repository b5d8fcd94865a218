import { describe, expect, it } from 'vitest';
import {
  detectArchiveFormat,
  detectCompression,
  looksLikeTar,
} from '../../../../src/runtime/image/detect-format.js';
import { tarOf } from '../../../helpers/images.js';

describe('format detection', () => {
  it('detects compression by magic number', () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(detectCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe('xz');
    expect(detectCompression(Buffer.from('./bin/'))).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
  });

  it('recognises a tar header', async () => {
    const t = await tarOf([{ name: 'a', content: 'x' }]);
    expect(looksLikeTar(t.subarray(0, 512))).toBe(true);
    expect(looksLikeTar(Buffer.alloc(512, 7))).toBe(false);
    expect(looksLikeTar(Buffer.from('short'))).toBe(false);
  });

  it('tells docker save, OCI layout and rootfs apart by entry names', () => {
    expect(detectArchiveFormat(['abc/layer.tar', 'abc.json', 'manifest.json'])).toBe('docker-save');
    // docker 25+ writes both: the docker manifest is what carries the tags.
    expect(
      detectArchiveFormat(['blobs/sha256/x', 'index.json', 'manifest.json', 'oci-layout']),
    ).toBe('docker-save');
    expect(detectArchiveFormat(['./oci-layout', './index.json', './blobs/sha256/x'])).toBe(
      'oci-layout',
    );
    expect(detectArchiveFormat(['./', './bin/sh', './etc/manifest.json'])).toBe('rootfs');
    expect(detectArchiveFormat(['index.json'])).toBe('rootfs');
    expect(detectArchiveFormat([])).toBe('rootfs');
  });
});
