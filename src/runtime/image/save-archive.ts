import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { hexOf } from './digest.js';
import { splitName } from './reference.js';

export interface SavedImage {
  id: string;
  manifest: string;
  manifestSize: number;
  diffIds: string[];
  /** Normalised names to record; empty when the image was named by id (docker saves no tag then). */
  tags: string[];
}

/**
 * Writes a `docker save` archive as docker 25+ does: every blob under blobs/sha256/, a
 * manifest.json (Config, RepoTags, Layers) and `repositories` that older `docker load` reads,
 * and an OCI index.json/oci-layout beside them. Layers are stored uncompressed, so their blob
 * digests are their diff ids. Written to a temporary file and renamed, so a failure leaves no
 * half archive behind.
 */
export async function writeSaveArchive(
  images: SavedImage[],
  blobPath: (digest: string) => string,
  outFile: string,
): Promise<void> {
  const tmp = `${outFile}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(tmp));
  const mtime = new Date(0);
  const added = new Set<string>();
  const addDir = (name: string) => pack.entry({ name, type: 'directory', mode: 0o755, mtime });
  const addBytes = (name: string, data: string | Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve())),
    );
  const addBlob = async (digest: string) => {
    const name = `blobs/sha256/${hexOf(digest)}`;
    if (added.has(name)) return;
    added.add(name);
    const path = blobPath(digest);
    const { size } = await stat(path);
    await pipeline(createReadStream(path), pack.entry({ name, size, mode: 0o644, mtime }));
  };
  try {
    addDir('blobs');
    addDir('blobs/sha256');
    const manifest: object[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    const ociManifests: object[] = [];
    for (const image of images) {
      await addBlob(image.id);
      for (const d of image.diffIds) await addBlob(d);
      await addBlob(image.manifest);
      manifest.push({
        Config: `blobs/sha256/${hexOf(image.id)}`,
        RepoTags: image.tags.length > 0 ? image.tags : null,
        Layers: image.diffIds.map((d) => `blobs/sha256/${hexOf(d)}`),
      });
      const descriptor = {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: image.manifest,
        size: image.manifestSize,
      };
      if (image.tags.length === 0) ociManifests.push(descriptor);
      for (const tag of image.tags) {
        const { repository, tag: t } = splitName(tag);
        (repositories[repository] ??= {})[t] = hexOf(image.diffIds.at(-1) ?? image.id);
        ociManifests.push({
          ...descriptor,
          annotations: {
            'io.containerd.image.name': dockerFullName(tag),
            'org.opencontainers.image.ref.name': t,
          },
        });
      }
    }
    await addBytes('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await addBytes(
      'index.json',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: ociManifests,
      }),
    );
    await addBytes('manifest.json', JSON.stringify(manifest));
    if (Object.keys(repositories).length > 0) {
      await addBytes('repositories', JSON.stringify(repositories));
    }
    pack.finalize();
    await written;
    await rename(tmp, outFile);
  } catch (err) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

/** "busybox:latest" as containerd names it: "docker.io/library/busybox:latest". */
export function dockerFullName(name: string): string {
  const first = name.split('/')[0] ?? '';
  const hasDomain =
    name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasDomain) return name;
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}
