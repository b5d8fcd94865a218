/** How a byte stream is compressed, decided by its magic number. */
export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

export function detectCompression(head: Uint8Array): Compression {
  const b = (i: number) => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip';
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return 'zstd';
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return 'bzip2';
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a)
    return 'xz';
  return 'none';
}

/** True when the first 512 bytes look like a tar header (ustar magic or a valid checksum). */
export function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  const magic = Buffer.from(head.subarray(257, 262)).toString('latin1');
  if (magic === 'ustar') return true;
  // Old v7 archives have no magic: check the header checksum instead.
  const stored = parseInt(Buffer.from(head.subarray(148, 156)).toString('latin1').trim(), 8);
  if (Number.isNaN(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (head[i] ?? 0);
  return sum === stored;
}

export type ArchiveFormat = 'docker-save' | 'oci-layout' | 'rootfs';

/**
 * Which kind of image archive a tarball is, from the names of its entries: `docker save`
 * writes manifest.json at the top (docker 25+ adds an OCI layout beside it, and then the
 * docker manifest is what names the tags); an OCI layout has oci-layout and index.json;
 * anything else is a root filesystem.
 */
export function detectArchiveFormat(entryNames: Iterable<string>): ArchiveFormat {
  const top = new Set<string>();
  for (const raw of entryNames) top.add(raw.replace(/^(\.\/)+/, '').replace(/^\/+/, ''));
  if (top.has('manifest.json')) return 'docker-save';
  if (top.has('oci-layout') && top.has('index.json')) return 'oci-layout';
  return 'rootfs';
}
