import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { notFound, invalidArgument, conflict, inUse } from '../../api/errors.js';
import { imageInUse } from '../container/in-use.js';
import { ArchiveFiles, listEntries } from './archive-reader.js';
import { detectArchiveFormat } from './detect-format.js';
import { digestPattern, hexOf, sha256Of, sha256OfFile } from './digest.js';
import {
  emptyIndex,
  ociIndexOf,
  readIndex,
  writeFileAtomic,
  type ImageIndex,
  type IndexedImage,
} from './image-index.js';
import { copyDecompressed, openSource } from './input-stream.js';
import { gnuTarWriter, unpackLayer } from './layer-unpacker.js';
import { withLock } from './lock-file.js';
import { applyChanges } from './parse-changes.js';
import { isFullImageId, parseReference, splitName } from './reference.js';
import { writeSaveArchive } from './save-archive.js';
import type {
  HistoryEntry,
  ImageInspect,
  ImageSummary,
  ImportOptions,
  OciImageConfig,
  RemoveOptions,
  ResolvedImage,
} from './types.js';

const manifestMediaType = 'application/vnd.oci.image.manifest.v1+json';
const configMediaType = 'application/vnd.oci.image.config.v1+json';
const layerMediaType = 'application/vnd.oci.image.layer.v1.tar';

/** One image read from an archive, its blobs staged, ready to be committed under the lock. */
interface StagedImage {
  configBytes: Buffer;
  config: OciImageConfig;
  /** Staged uncompressed layer tars, base first, with their diff ids. */
  layers: { diffId: string; file: string; size: number }[];
  refs: string[];
}

/**
 * Content-addressed image store in OCI image layout under `<data-root>/images`. Index changes
 * are serialised by a lock file; blobs and unpacked layers appear by atomic rename only, so a
 * failed import leaves nothing and a reader never sees half a layer. See README.md.
 */
export class ImageStore {
  readonly root: string;
  private readonly blobsDir: string;
  private readonly layersDir: string;
  private readonly tmpDir: string;
  private readonly indexPath: string;
  private readonly lockPath: string;

  private constructor(readonly dataRoot: string) {
    this.root = join(resolve(dataRoot), 'images');
    this.blobsDir = join(this.root, 'blobs', 'sha256');
    this.layersDir = join(this.root, 'layers');
    this.tmpDir = join(this.root, 'tmp');
    this.indexPath = join(this.root, 'images.json');
    this.lockPath = join(this.root, 'lock');
  }

  static async open(dataRoot: string): Promise<ImageStore> {
    const store = new ImageStore(dataRoot);
    await mkdir(store.blobsDir, { recursive: true });
    await mkdir(store.layersDir, { recursive: true });
    await mkdir(store.tmpDir, { recursive: true });
    const layout = join(store.root, 'oci-layout');
    if (!(await exists(layout))) {
      await writeFileAtomic(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    }
    if (!(await exists(join(store.root, 'index.json')))) {
      await writeFileAtomic(
        join(store.root, 'index.json'),
        JSON.stringify(ociIndexOf(emptyIndex())),
      );
    }
    return store;
  }

  /** Absolute directory of the unpacked layer with diff id `diffId`. */
  layerDir(diffId: string): string {
    return join(this.layersDir, hexOf(diffId));
  }

  async resolve(refOrId: string): Promise<ResolvedImage> {
    const index = await readIndex(this.indexPath);
    const { image, ref } = findImage(index, refOrId);
    return {
      id: image.id,
      ref,
      config: image.config,
      layerDirs: image.diffIds.map((d) => this.layerDir(d)),
    };
  }

  async import(
    source: string | NodeJS.ReadableStream,
    opts: ImportOptions = {},
  ): Promise<ResolvedImage[]> {
    const what = typeof source === 'string' && source !== '-' ? source : 'stdin';
    const name = opts.name !== undefined ? parseReference(opts.name).name : undefined;
    const changes = opts.changes ?? [];
    // Check the changes before reading anything, so a typo costs no I/O.
    applyChanges({}, changes);
    const staging = await this.makeStaging();
    try {
      const input = join(staging, 'input.tar');
      const copied = await copyDecompressed(openSource(source), input, what);
      if (copied.size === 0) throw invalidArgument(`${what}: empty input, not a tarball`);
      const names = await listEntries(input, what);
      const format = detectArchiveFormat(names);
      if (format !== 'rootfs' && changes.length > 0) {
        throw invalidArgument(
          `--change applies to a plain rootfs tarball, and ${what} is a ${format} archive`,
        );
      }
      let staged: StagedImage[];
      if (format === 'rootfs') {
        staged = [this.stageRootfs(input, copied.digest, copied.size, changes, what)];
      } else {
        const files = await ArchiveFiles.extract(input, join(staging, 'files'), what);
        await rm(input, { force: true });
        staged =
          format === 'docker-save'
            ? await stageDockerSave(files, staging, what)
            : await stageOciLayout(files, staging, what);
      }
      if (name !== undefined) {
        if (staged.length !== 1) {
          throw invalidArgument(
            `--name needs an archive with one image, and ${what} has ${staged.length}`,
          );
        }
        staged[0]?.refs.push(name);
      }
      const unpacked = new Map<string, string>();
      for (const s of staged) {
        for (const layer of s.layers) {
          if (unpacked.has(layer.diffId) || (await exists(this.layerDir(layer.diffId)))) continue;
          unpacked.set(layer.diffId, await this.unpackStaged(layer.file, staging, what));
        }
      }
      return await withLock(this.lockPath, () => this.commit(staged, unpacked, staging, what));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async list(): Promise<ImageSummary[]> {
    const index = await readIndex(this.indexPath);
    const rows: ImageSummary[] = [];
    for (const image of Object.values(index.images)) {
      const size = image.layerSizes.reduce((a, b) => a + b, 0);
      const names = image.refs.length > 0 ? image.refs : ['<none>:<none>'];
      for (const ref of names) {
        const { repository, tag } = splitName(ref);
        rows.push({ id: image.id, repository, tag, created: image.created, size });
      }
    }
    return rows.sort(
      (a, b) =>
        b.created.localeCompare(a.created) ||
        a.repository.localeCompare(b.repository) ||
        a.tag.localeCompare(b.tag),
    );
  }

  async inspect(refOrId: string): Promise<ImageInspect> {
    const index = await readIndex(this.indexPath);
    const { image } = findImage(index, refOrId);
    const config = await this.readConfig(image.id);
    return {
      Id: image.id,
      RepoTags: [...image.refs],
      RepoDigests: [],
      Parent: '',
      Comment: config.history?.at(-1)?.comment ?? '',
      Created: image.created,
      Author: config.author ?? '',
      Config: image.config,
      Architecture: image.architecture,
      Os: image.os,
      Size: image.layerSizes.reduce((a, b) => a + b, 0),
      RootFS: { Type: 'layers', Layers: [...image.diffIds] },
      Metadata: { LastTagTime: image.lastTagTime },
    };
  }

  async history(refOrId: string): Promise<HistoryEntry[]> {
    const index = await readIndex(this.indexPath);
    const { image } = findImage(index, refOrId);
    const config = await this.readConfig(image.id);
    const entries = config.history ?? [];
    let layer = 0;
    const out: HistoryEntry[] = entries.map((h) => {
      const empty = h.empty_layer === true;
      const size = empty ? 0 : (image.layerSizes[layer++] ?? 0);
      return {
        id: '<missing>',
        created: h.created ?? '',
        createdBy: h.created_by ?? '',
        size,
        comment: h.comment ?? '',
        emptyLayer: empty,
      };
    });
    out.reverse();
    if (out[0]) out[0].id = image.id;
    return out;
  }

  async tag(source: string, target: string): Promise<void> {
    const name = parseReference(target).name;
    await withLock(this.lockPath, async () => {
      const index = await readIndex(this.indexPath);
      const { image } = findImage(index, source);
      moveRef(index, name, image.id);
      image.lastTagTime = new Date().toISOString();
      await this.writeIndexes(index);
    });
  }

  async remove(refOrId: string, opts: RemoveOptions = {}): Promise<string[]> {
    const force = opts.force === true;
    return withLock(this.lockPath, async () => {
      const index = await readIndex(this.indexPath);
      const { image, byRef } = findImage(index, refOrId);
      const lines: string[] = [];
      const untag = (ref: string) => {
        image.refs = image.refs.filter((r) => r !== ref);
        lines.push(`Untagged: ${ref}`);
      };
      if (byRef !== undefined && image.refs.length > 1) {
        untag(byRef);
        await this.writeIndexes(index);
        return lines;
      }
      if (byRef === undefined && image.refs.length > 1 && !force) {
        throw conflict(
          `unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`,
        );
      }
      const users = await imageInUse(this.dataRoot, image.id);
      if (users.length > 0 && !force) {
        const what = byRef !== undefined ? `repository reference "${byRef}"` : shortId(image.id);
        throw inUse(
          `unable to remove ${what} (must force) - container ${users.join(', ')} is using its referenced image ${shortId(image.id)}`,
        );
      }
      for (const ref of [...image.refs]) untag(ref);
      if (users.length > 0) {
        // Forced, but containers still need the layers: keep the image, dangling, as their rootfs.
        await this.writeIndexes(index);
        return lines;
      }
      delete index.images[image.id];
      await this.writeIndexes(index);
      lines.push(`Deleted: ${image.id}`);
      const deletedLayers = await this.collectGarbage(index);
      for (const d of image.diffIds) if (deletedLayers.has(d)) lines.push(`Deleted: ${d}`);
      return lines;
    });
  }

  async save(refs: string[], outFile: string): Promise<void> {
    if (refs.length === 0) throw invalidArgument('image save needs at least one image');
    const index = await readIndex(this.indexPath);
    const byId = new Map<string, { image: IndexedImage; tags: string[] }>();
    for (const r of refs) {
      const { image, byRef } = findImage(index, r);
      const entry = byId.get(image.id) ?? { image, tags: [] };
      if (byRef !== undefined && !entry.tags.includes(byRef)) entry.tags.push(byRef);
      byId.set(image.id, entry);
    }
    await writeSaveArchive(
      [...byId.values()].map(({ image, tags }) => ({
        id: image.id,
        manifest: image.manifest,
        manifestSize: image.manifestSize,
        diffIds: image.diffIds,
        tags,
      })),
      (digest) => join(this.blobsDir, hexOf(digest)),
      resolve(outFile),
    );
  }

  private async readConfig(id: string): Promise<OciImageConfig> {
    return JSON.parse(await readFile(join(this.blobsDir, hexOf(id)), 'utf8')) as OciImageConfig;
  }

  private async makeStaging(): Promise<string> {
    await this.cleanAbandonedStaging();
    const dir = join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(join(dir, 'files'), { recursive: true });
    return dir;
  }

  /** Staging dirs of processes that died mid-import (kill -9) are removed by the next import. */
  private async cleanAbandonedStaging(): Promise<void> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const pid = Number.parseInt(name.split('-', 1)[0] ?? '', 10);
      if (!Number.isFinite(pid) || pid === process.pid || processAlive(pid)) continue;
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
    }
  }

  private async unpackStaged(tarFile: string, staging: string, what: string): Promise<string> {
    const dir = join(staging, `layer-${randomBytes(6).toString('hex')}`);
    await mkdir(dir);
    // The layer root is the container's "/": unprivileged users must be able to traverse it.
    await chmod(dir, 0o755);
    await unpackLayer(createReadStream(tarFile), dir, gnuTarWriter, what);
    return dir;
  }

  private stageRootfs(
    tarFile: string,
    diffId: string,
    size: number,
    changes: string[],
    what: string,
  ): StagedImage {
    const created = new Date().toISOString();
    const config: OciImageConfig = {
      architecture: goArch(),
      os: 'linux',
      created,
      config: applyChanges({}, changes),
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [
        {
          created,
          created_by: 'tsswarm image import',
          comment: `Imported from ${what === 'stdin' ? '-' : what}`,
        },
      ],
    };
    return {
      configBytes: Buffer.from(JSON.stringify(config)),
      config,
      layers: [{ diffId, file: tarFile, size }],
      refs: [],
    };
  }

  /** Moves staged blobs and layers into place and records the images; runs under the lock. */
  private async commit(
    staged: StagedImage[],
    unpacked: Map<string, string>,
    staging: string,
    what: string,
  ): Promise<ResolvedImage[]> {
    const index = await readIndex(this.indexPath);
    const results: ResolvedImage[] = [];
    const now = new Date().toISOString();
    for (const s of staged) {
      for (const layer of s.layers) {
        const target = this.layerDir(layer.diffId);
        if (!(await exists(target))) {
          // Garbage collection may have removed it since we looked: unpack it now.
          const dir =
            unpacked.get(layer.diffId) ?? (await this.unpackStaged(layer.file, staging, what));
          unpacked.delete(layer.diffId);
          await rename(dir, target);
        }
        await this.putBlobFile(layer.diffId, layer.file);
      }
      const id = sha256Of(s.configBytes);
      await this.putBlobBytes(id, s.configBytes);
      const manifestBytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: manifestMediaType,
          config: { mediaType: configMediaType, digest: id, size: s.configBytes.length },
          layers: s.layers.map((l) => ({
            mediaType: layerMediaType,
            digest: l.diffId,
            size: l.size,
          })),
        }),
      );
      const manifest = sha256Of(manifestBytes);
      await this.putBlobBytes(manifest, manifestBytes);
      const previous = index.images[id];
      const image: IndexedImage = previous ?? {
        id,
        manifest,
        manifestSize: manifestBytes.length,
        refs: [],
        created: s.config.created ?? now,
        diffIds: s.layers.map((l) => l.diffId),
        layerSizes: s.layers.map((l) => l.size),
        config: s.config.config ?? {},
        architecture: s.config.architecture,
        os: s.config.os,
        lastTagTime: now,
      };
      index.images[id] = image;
      for (const ref of s.refs) moveRef(index, ref, id);
      results.push({
        id,
        ref: s.refs[0] ?? id,
        config: image.config,
        layerDirs: image.diffIds.map((d) => this.layerDir(d)),
      });
    }
    await this.writeIndexes(index);
    return results;
  }

  private async putBlobFile(digest: string, file: string): Promise<void> {
    const target = join(this.blobsDir, hexOf(digest));
    if (await exists(target)) return;
    await rename(file, target);
  }

  private async putBlobBytes(digest: string, bytes: Uint8Array): Promise<void> {
    const target = join(this.blobsDir, hexOf(digest));
    if (await exists(target)) return;
    await writeFileAtomic(target, bytes);
  }

  private async writeIndexes(index: ImageIndex): Promise<void> {
    await writeFileAtomic(this.indexPath, JSON.stringify(index));
    await writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(ociIndexOf(index)));
  }

  /** Deletes blobs and layer dirs that no image references; returns the deleted diff ids. Under the lock. */
  private async collectGarbage(index: ImageIndex): Promise<Set<string>> {
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const image of Object.values(index.images)) {
      blobs.add(hexOf(image.id));
      blobs.add(hexOf(image.manifest));
      for (const d of image.diffIds) {
        blobs.add(hexOf(d));
        layers.add(hexOf(d));
      }
    }
    const deleted = new Set<string>();
    for (const name of await readdir(this.layersDir)) {
      if (layers.has(name)) continue;
      // Out of sight first (atomic), then the slow recursive delete.
      const aside = join(this.tmpDir, `${process.pid}-gc-${randomBytes(4).toString('hex')}`);
      await rename(join(this.layersDir, name), aside);
      await rm(aside, { recursive: true, force: true });
      deleted.add(`sha256:${name}`);
    }
    for (const name of await readdir(this.blobsDir)) {
      if (!blobs.has(name) && /^[0-9a-f]{64}$/.test(name)) {
        await rm(join(this.blobsDir, name), { force: true });
      }
    }
    return deleted;
  }
}

function findImage(
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

function moveRef(index: ImageIndex, ref: string, id: string): void {
  for (const other of Object.values(index.images)) {
    if (other.id !== id) other.refs = other.refs.filter((r) => r !== ref);
  }
  const image = index.images[id];
  if (image && !image.refs.includes(ref)) image.refs.push(ref);
}

export function shortId(id: string): string {
  return hexOf(id).slice(0, 12);
}

function goArch(): string {
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
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

/** Decompresses one layer of an archive into staging and checks its diff id. */
async function stageLayer(
  files: ArchiveFiles,
  path: string,
  expectedDiffId: string,
  staging: string,
  what: string,
): Promise<{ diffId: string; file: string; size: number }> {
  const src = files.get(path);
  const file = join(staging, `blob-${randomBytes(6).toString('hex')}`);
  const copied = await copyDecompressed(createReadStream(src.file), file, `${what}: layer ${path}`);
  if (copied.digest !== expectedDiffId) {
    throw invalidArgument(
      `${what}: layer ${path} has digest ${copied.digest} but the image config says ${expectedDiffId}`,
    );
  }
  return { diffId: copied.digest, file, size: copied.size };
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

async function stageDockerSave(
  files: ArchiveFiles,
  staging: string,
  what: string,
): Promise<StagedImage[]> {
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
      if (blobHex !== undefined) await checkBlobDigest(files, layerPath, `sha256:${blobHex}`, what);
      layers.push(
        await stageLayer(files, layerPath, config.rootfs.diff_ids[j] as string, staging, what),
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

async function stageOciLayout(
  files: ArchiveFiles,
  staging: string,
  what: string,
): Promise<StagedImage[]> {
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
      await checkBlobDigest(files, path, l.digest, what);
      layers.push(
        await stageLayer(files, path, config.rootfs.diff_ids[j] as string, staging, what),
      );
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
