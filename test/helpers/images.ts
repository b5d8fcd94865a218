import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import tar from 'tar-stream';
import { ImageStore, type ResolvedImage } from '../../src/runtime/image/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let busyboxTar: Promise<Buffer> | undefined;

/** The busybox rootfs tarball of scripts/busybox-rootfs.sh, built once per test process. */
export function busyboxRootfsTar(): Promise<Buffer> {
  busyboxTar ??= promisify(execFile)('bash', [join(repoRoot, 'scripts', 'busybox-rootfs.sh')], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  }).then(({ stdout }) => stdout);
  return busyboxTar;
}

/** Imports busybox:latest (CMD ["sh"]) into the image store of `dataRoot`, as setup.sh does. */
export async function busyboxImage(dataRoot: string): Promise<ResolvedImage> {
  const store = await ImageStore.open(dataRoot);
  const [image] = await store.import(Readable.from([await busyboxRootfsTar()]), {
    name: 'busybox:latest',
    changes: ['CMD ["sh"]'],
  });
  if (!image) throw new Error('busybox import returned no image');
  return image;
}

/** One member of a test tarball. */
export interface TarMember {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  pax?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
}

/** A tarball of `members`, in memory. */
export async function tarOf(members: TarMember[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const m of members) {
    const type = m.type ?? 'file';
    const mode = m.mode ?? (type === 'directory' ? 0o755 : 0o644);
    const header = {
      name: m.name,
      type,
      mode,
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      mtime: new Date(0),
      ...(m.linkname !== undefined ? { linkname: m.linkname } : {}),
      ...(m.pax ? { pax: m.pax } : {}),
      ...(m.devmajor !== undefined ? { devmajor: m.devmajor } : {}),
      ...(m.devminor !== undefined ? { devminor: m.devminor } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      pack.entry(header, type === 'file' ? (m.content ?? '') : '', (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface TestImageSpec {
  /** Layer tarballs, base first. */
  layers: Buffer[];
  tags?: string[];
  config?: Record<string, unknown>;
  /** Gzip the layer blobs (the diff ids stay those of the uncompressed tars). */
  gzipLayers?: boolean;
}

function configOf(spec: TestImageSpec): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: spec.config ?? { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => `sha256:${sha256Hex(l)}`) },
      history: spec.layers.map((_, i) => ({
        created: '2026-01-01T00:00:00Z',
        created_by: `layer ${i}`,
      })),
    }),
  );
}

async function gzip(data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gz = createGzip();
  const done = (async () => {
    for await (const c of gz as AsyncIterable<Buffer>) chunks.push(c);
  })();
  await pipeline(Readable.from([data]), gz).catch(() => undefined);
  await done;
  return Buffer.concat(chunks);
}

/** A `docker save` tarball in the legacy layout (<hex>.json config, <dir>/layer.tar). */
export async function dockerSaveTar(images: TestImageSpec[]): Promise<Buffer> {
  const members: TarMember[] = [];
  const manifest: object[] = [];
  const seen = new Set<string>();
  for (const spec of images) {
    const config = configOf(spec);
    const configName = `${sha256Hex(config)}.json`;
    if (!seen.has(configName)) members.push({ name: configName, content: config });
    seen.add(configName);
    const layerNames: string[] = [];
    for (const layer of spec.layers) {
      const blob = spec.gzipLayers ? await gzip(layer) : layer;
      const dir = sha256Hex(blob);
      const name = `${dir}/layer.tar`;
      if (!seen.has(name)) {
        members.push({ name: `${dir}/`, type: 'directory' });
        members.push({ name, content: blob });
        seen.add(name);
      }
      layerNames.push(name);
    }
    manifest.push({ Config: configName, RepoTags: spec.tags ?? null, Layers: layerNames });
  }
  members.push({ name: 'manifest.json', content: JSON.stringify(manifest) });
  return tarOf(members);
}

/** An OCI image layout tarball; each image is named by org.opencontainers.image.ref.name. */
export async function ociLayoutTar(images: TestImageSpec[]): Promise<Buffer> {
  const members: TarMember[] = [
    { name: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
  ];
  const blobs = new Map<string, Buffer>();
  const manifests: object[] = [];
  for (const spec of images) {
    const config = configOf(spec);
    blobs.set(sha256Hex(config), config);
    const layers = [];
    for (const layer of spec.layers) {
      const blob = spec.gzipLayers ? await gzip(layer) : layer;
      blobs.set(sha256Hex(blob), blob);
      layers.push({
        mediaType: spec.gzipLayers
          ? 'application/vnd.oci.image.layer.v1.tar+gzip'
          : 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${sha256Hex(blob)}`,
        size: blob.length,
      });
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${sha256Hex(config)}`,
          size: config.length,
        },
        layers,
      }),
    );
    blobs.set(sha256Hex(manifest), manifest);
    const descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha256Hex(manifest)}`,
      size: manifest.length,
    };
    const tags = spec.tags ?? [];
    if (tags.length === 0) manifests.push(descriptor);
    for (const t of tags) {
      manifests.push({ ...descriptor, annotations: { 'org.opencontainers.image.ref.name': t } });
    }
  }
  members.push({ name: 'blobs/', type: 'directory' }, { name: 'blobs/sha256/', type: 'directory' });
  for (const [hex, blob] of blobs) members.push({ name: `blobs/sha256/${hex}`, content: blob });
  members.push({
    name: 'index.json',
    content: JSON.stringify({ schemaVersion: 2, manifests }),
  });
  return tarOf(members);
}

/**
 * Writes `data` to a fresh file and returns its path: inside `dir` when given, else in a new
 * directory under /tmp that the caller removes (the file's parent).
 */
export async function writeTemp(data: Buffer, dir?: string): Promise<string> {
  const parent = dir ?? (await mkdtemp(join(tmpdir(), 'tsswarm-image-test-')));
  const file = join(parent, `archive-${randomBytes(4).toString('hex')}.tar`);
  await pipeline(Readable.from([data]), createWriteStream(file));
  return file;
}
