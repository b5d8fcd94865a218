import { open, readFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { ErrorCode, TsswarmError, invalidArgument, notFound } from '../../api/errors.js';
import { hexOf } from './digest.js';
import { isFullImageId, parseReference } from './reference.js';
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
    throw new TsswarmError(ErrorCode.DataCorrupt, `${path}: not an image index of version 1`);
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

/** The image a reference names (a name wins over an id prefix, as in docker). */
export function findImage(
  index: ImageIndex,
  refOrId: string,
): { image: IndexedImage; ref: string; byRef?: string } {
  const images = Object.values(index.images);
  if (!isFullImageId(refOrId)) {
    let name: string | undefined;
    try {
      name = parseReference(refOrId).name;
    } catch {
      name = undefined;
    }
    if (name !== undefined) {
      const image = images.find((i) => i.refs.includes(name));
      if (image) return { image, ref: name, byRef: name };
    }
  }
  const hex = refOrId.startsWith('sha256:') ? refOrId.slice('sha256:'.length) : refOrId;
  if (/^[0-9a-f]{4,64}$/.test(hex)) {
    const matches = images.filter((i) => hexOf(i.id).startsWith(hex));
    if (matches.length === 1 && matches[0]) return { image: matches[0], ref: matches[0].id };
    if (matches.length > 1) {
      throw invalidArgument(
        `short image id "${refOrId}" is ambiguous (${matches.length} images match)`,
      );
    }
  }
  throw notFound(`No such image: ${refOrId}`);
}

/** Points `ref` at image `id`, taking it from whichever image had it. */
export function moveRef(index: ImageIndex, ref: string, id: string): void {
  for (const other of Object.values(index.images)) {
    if (other.id !== id) other.refs = other.refs.filter((r) => r !== ref);
  }
  const image = index.images[id];
  if (image && !image.refs.includes(ref)) image.refs.push(ref);
}
