import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../api/errors.js';
import type { ArchiveFiles } from './archive-reader.js';
import { digestPattern, hexOf, sha256Of, sha256OfFile } from './digest.js';
import { copyDecompressed } from './input-stream.js';
import { detectCompression } from './detect-format.js';
import { parseReference } from './reference.js';
import type { OciImageConfig } from './types.js';

export /** One image read from an archive, its blobs staged, ready to be committed under the lock. */
interface StagedImage {
  configBytes: Buffer;
  config: OciImageConfig;
  /** Staged uncompressed layer tars, base first, with their diff ids. */
  layers: { diffId: string; file: string; size: number }[];
  refs: string[];
}

/** Docker's name for this machine's architecture (GOARCH). */
export function goArch(): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return map[process.arch] ?? process.arch;
}

/** Reads a staged archive file as JSON, naming the archive and path when it does not parse. */
async function readJson<T>(
  files: ArchiveFiles,
  path: string,
  what: string,
): Promise<{ value: T; bytes: Buffer }> {
  const bytes = await readFile(files.get(path).file);
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as T, bytes };
  } catch (err) {
    throw invalidArgument(`${what}: ${path} is not valid JSON: ${(err as Error).message}`, err);
  }
}

function checkConfig(config: OciImageConfig, where: string, what: string): void {
  if (
    typeof config !== 'object' ||
    config === null ||
    typeof config.rootfs !== 'object' ||
    !Array.isArray(config.rootfs.diff_ids) ||
    !config.rootfs.diff_ids.every((d) => typeof d === 'string' && digestPattern.test(d))
  ) {
    throw invalidArgument(
      `${what}: ${where} is not an image config (rootfs.diff_ids missing or not sha256 digests)`,
    );
  }
}

/**
 * Stages the layers of one archive: an uncompressed layer is used where it lies (hashed, not
 * copied), a gzip'd one is decompressed into staging; a layer named twice is staged once.
 * Each call checks the diff id the config promises and, when given, the blob digest.
 */
function layerStager(files: ArchiveFiles, staging: string, what: string) {
  const staged = new Map<string, { diffId: string; file: string; size: number; blob?: string }>();
  return async (
    path: string,
    expectedDiffId: string,
    expectedBlob?: string,
  ): Promise<{ diffId: string; file: string; size: number }> => {
    const src = files.get(path);
    let layer = staged.get(src.file);
    if (layer === undefined) {
      if (detectCompression(await readHead(src.file)) === 'none') {
        const { digest, size } = await sha256OfFile(src.file);
        layer = { diffId: digest, file: src.file, size, blob: digest };
      } else {
        const blob = expectedBlob !== undefined ? (await sha256OfFile(src.file)).digest : undefined;
        const file = join(staging, `blob-${randomBytes(6).toString('hex')}`);
        const copied = await copyDecompressed(
          createReadStream(src.file),
          file,
          `${what}: layer ${path}`,
        );
        layer = { diffId: copied.digest, file, size: copied.size, ...(blob ? { blob } : {}) };
      }
      staged.set(src.file, layer);
    }
    if (expectedBlob !== undefined && layer.blob !== expectedBlob) {
      throw invalidArgument(
        `${what}: ${path} has digest ${layer.blob ?? '?'}, expected ${expectedBlob}`,
      );
    }
    if (layer.diffId !== expectedDiffId) {
      throw invalidArgument(
        `${what}: layer ${path} has digest ${layer.diffId} but the image config says ${expectedDiffId}`,
      );
    }
    return { diffId: layer.diffId, file: layer.file, size: layer.size };
  };
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Checks that the staged file for `path` has the sha256 its name or descriptor promises. */
async function checkBlobDigest(
  files: ArchiveFiles,
  path: string,
  digest: string,
  what: string,
): Promise<void> {
  const actual = await sha256OfFile(files.get(path).file);
  if (actual.digest !== digest) {
    throw invalidArgument(`${what}: ${path} has digest ${actual.digest}, expected ${digest}`);
  }
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export async function stageDockerSave(
  files: ArchiveFiles,
  staging: string,
  what: string,
): Promise<StagedImage[]> {
  const stage = layerStager(files, staging, what);
  const { value: manifest } = await readJson<DockerManifestEntry[]>(files, 'manifest.json', what);
  if (!Array.isArray(manifest) || manifest.length === 0) {
    throw invalidArgument(`${what}: manifest.json lists no images`);
  }
  const out: StagedImage[] = [];
  for (const [i, m] of manifest.entries()) {
    const where = `manifest.json[${i}]`;
    if (
      typeof m?.Config !== 'string' ||
      !Array.isArray(m.Layers) ||
      !m.Layers.every((l) => typeof l === 'string')
    ) {
      throw invalidArgument(
        `${what}: ${where} needs Config (string) and Layers (array of strings)`,
      );
    }
    const { value: config, bytes } = await readJson<OciImageConfig>(files, m.Config, what);
    checkConfig(config, m.Config, what);
    // Names like "<hex>.json" or "blobs/sha256/<hex>" promise a digest: hold the file to it.
    const named = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(m.Config)?.[1];
    if (named !== undefined && sha256Of(bytes) !== `sha256:${named}`) {
      throw invalidArgument(
        `${what}: config ${m.Config} has digest ${sha256Of(bytes)}, not sha256:${named}`,
      );
    }
    if (config.rootfs.diff_ids.length !== m.Layers.length) {
      throw invalidArgument(
        `${what}: ${where} lists ${m.Layers.length} layers but its config has ${config.rootfs.diff_ids.length} diff ids`,
      );
    }
    const layers = [];
    for (const [j, layerPath] of m.Layers.entries()) {
      const blobHex = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(layerPath)?.[1];

      layers.push(
        await stage(
          layerPath,
          config.rootfs.diff_ids[j] as string,
          blobHex !== undefined ? `sha256:${blobHex}` : undefined,
        ),
      );
    }
    const refs = (m.RepoTags ?? []).map((t) => {
      try {
        return parseReference(t).name;
      } catch (err) {
        throw invalidArgument(`${what}: ${where} RepoTags: ${(err as Error).message}`, err);
      }
    });
    out.push({ configBytes: bytes, config, layers, refs });
  }
  return out;
}

interface OciDescriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
}

export async function stageOciLayout(
  files: ArchiveFiles,
  staging: string,
  what: string,
): Promise<StagedImage[]> {
  const stage = layerStager(files, staging, what);
  const { value: layout } = await readJson<{ imageLayoutVersion?: string }>(
    files,
    'oci-layout',
    what,
  );
  if (typeof layout?.imageLayoutVersion !== 'string') {
    throw invalidArgument(`${what}: oci-layout has no imageLayoutVersion`);
  }
  const { value: top } = await readJson<{ manifests?: OciDescriptor[] }>(files, 'index.json', what);
  const found: { descriptor: OciDescriptor; ref?: string }[] = [];
  const blobJson = async <T>(d: OciDescriptor, where: string): Promise<T> => {
    if (typeof d?.digest !== 'string' || !digestPattern.test(d.digest)) {
      throw invalidArgument(`${what}: ${where} has no sha256 digest`);
    }
    const path = `blobs/sha256/${hexOf(d.digest)}`;
    await checkBlobDigest(files, path, d.digest, what);
    return (await readJson<T>(files, path, what)).value;
  };
  const walk = async (
    manifests: OciDescriptor[] | undefined,
    where: string,
    ref?: string,
    depth = 0,
  ) => {
    if (!Array.isArray(manifests))
      throw invalidArgument(`${what}: ${where} has no manifests array`);
    for (const [i, d] of manifests.entries()) {
      const name = refFromAnnotations(d?.annotations) ?? ref;
      const mt = d?.mediaType ?? '';
      if (mt.endsWith('image.index.v1+json') || mt.endsWith('manifest.list.v2+json')) {
        if (depth > 2) throw invalidArgument(`${what}: image indexes nested too deep`);
        const nested = await blobJson<{ manifests?: OciDescriptor[] }>(d, `${where}[${i}]`);
        await walk(nested.manifests, `${where}[${i}]`, name, depth + 1);
      } else {
        const platform = (d as { platform?: { os?: string; architecture?: string } }).platform;
        if (platform && (platform.os !== 'linux' || platform.architecture !== goArch())) continue;
        found.push({ descriptor: d, ...(name !== undefined ? { ref: name } : {}) });
      }
    }
  };
  await walk(top.manifests, 'index.json');
  if (found.length === 0)
    throw invalidArgument(`${what}: index.json lists no image for linux/${goArch()}`);

  const out: StagedImage[] = [];
  const byConfig = new Map<string, StagedImage>();
  for (const { descriptor, ref } of found) {
    const where = `manifest ${descriptor.digest}`;
    const manifest = await blobJson<{ config?: OciDescriptor; layers?: OciDescriptor[] }>(
      descriptor,
      where,
    );
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw invalidArgument(`${what}: ${where} needs config and layers`);
    }
    const configPath = `blobs/sha256/${hexOf(manifest.config.digest)}`;
    const config = await blobJson<OciImageConfig>(manifest.config, `${where} config`);
    checkConfig(config, configPath, what);
    const bytes = await readFile(files.get(configPath).file);
    const refs = ref !== undefined ? [ref] : [];
    const same = byConfig.get(manifest.config.digest);
    if (same) {
      same.refs.push(...refs.filter((r) => !same.refs.includes(r)));
      continue;
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(
        `${what}: ${where} lists ${manifest.layers.length} layers but its config has ${config.rootfs.diff_ids.length} diff ids`,
      );
    }
    const layers = [];
    for (const [j, l] of manifest.layers.entries()) {
      if (typeof l?.digest !== 'string' || !digestPattern.test(l.digest)) {
        throw invalidArgument(`${what}: ${where} layer ${j} has no sha256 digest`);
      }
      const path = `blobs/sha256/${hexOf(l.digest)}`;
      layers.push(await stage(path, config.rootfs.diff_ids[j] as string, l.digest));
    }
    const image: StagedImage = { configBytes: bytes, config, layers, refs };
    byConfig.set(manifest.config.digest, image);
    out.push(image);
  }
  return out;
}

/** The image name an OCI descriptor carries: containerd's full name, or a ref.name that is a full reference. */
function refFromAnnotations(a: Record<string, string> | undefined): string | undefined {
  const candidate = a?.['io.containerd.image.name'] ?? a?.['org.opencontainers.image.ref.name'];
  if (candidate === undefined) return undefined;
  try {
    // A bare tag ("latest") names no repository: such an image is imported untagged.
    if (!candidate.includes(':') && !candidate.includes('/')) return undefined;
    return parseReference(candidate).name;
  } catch {
    return undefined;
  }
}
