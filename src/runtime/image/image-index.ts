import { open, readFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { ImageConfig } from './types.js';

/** What the store remembers of one image; enough for `resolve`, `ls` and GC without other reads. */
export interface IndexedImage {
  /** "sha256:<config digest>" */
  id: string;
  /** Digest of the OCI manifest blob that ties config and layers together. */
  manifest: string;
  manifestSize: number;
  /** Normalised "repository:tag" names, in the order they were given. */
  refs: string[];
  created: string;
  /** Uncompressed layer digests, base first; also the names of the unpacked layer dirs. */
  diffIds: string[];
  /** Byte size of each layer tar (uncompressed), same order as diffIds. */
  layerSizes: number[];
  config: ImageConfig;
  architecture: string;
  os: string;
  lastTagTime: string;
}

export interface ImageIndex {
  version: 1;
  images: Record<string, IndexedImage>;
}

export function emptyIndex(): ImageIndex {
  return { version: 1, images: {} };
}

export async function readIndex(path: string): Promise<ImageIndex> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    throw err;
  }
  const parsed = JSON.parse(text) as ImageIndex;
  if (parsed.version !== 1 || typeof parsed.images !== 'object') {
    throw new Error(`${path}: not an image index of version 1`);
  }
  return parsed;
}

/** Writes `data` to `path` through a temporary file and a rename, so readers see old or new. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    // Without it a crash soon after the rename can leave an empty index behind the new name.
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** The OCI image layout index.json that mirrors the store index (ref.name annotations per tag). */
export function ociIndexOf(index: ImageIndex): object {
  const manifests: object[] = [];
  for (const image of Object.values(index.images)) {
    const descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: image.manifest,
      size: image.manifestSize,
    };
    if (image.refs.length === 0) manifests.push(descriptor);
    for (const ref of image.refs) {
      manifests.push({
        ...descriptor,
        annotations: {
          'io.containerd.image.name': ref,
          'org.opencontainers.image.ref.name': ref,
        },
      });
    }
  }
  return { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
}
