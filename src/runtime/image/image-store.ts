import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { invalidArgument, conflict, inUse } from '../../api/errors.js';
import { imageInUse } from '../container/in-use.js';
import { ArchiveFiles, listEntries } from './archive-reader.js';
import { goArch, stageDockerSave, stageOciLayout, type StagedImage } from './archive-import.js';
import { detectArchiveFormat, looksLikeTar } from './detect-format.js';
import { hexOf, sha256Of } from './digest.js';
import {
  emptyIndex,
  ociIndexOf,
  findImage,
  moveRef,
  readIndex,
  writeFileAtomic,
  type ImageIndex,
  type IndexedImage,
} from './image-index.js';
import { copyDecompressed, openSource } from './input-stream.js';
import { gnuTarWriter, unpackLayer } from './layer-unpacker.js';
import { withLock } from './lock-file.js';
import { applyChanges } from './parse-changes.js';
import { parseReference, splitName } from './reference.js';
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

  private constructor(
    readonly dataRoot: string,
    private readonly log: Logger | undefined,
  ) {
    this.root = join(resolve(dataRoot), 'images');
    this.blobsDir = join(this.root, 'blobs', 'sha256');
    this.layersDir = join(this.root, 'layers');
    this.tmpDir = join(this.root, 'tmp');
    this.indexPath = join(this.root, 'images.json');
    this.lockPath = join(this.root, 'lock');
  }

  static async open(dataRoot: string, opts: { logger?: Logger } = {}): Promise<ImageStore> {
    const store = new ImageStore(dataRoot, opts.logger?.child({ component: 'image-store' }));
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
      const startedMs = Date.now();
      const copied = await copyDecompressed(openSource(source), input, what);
      if (copied.size === 0) throw invalidArgument(`${what}: empty input, not a tarball`);
      if (!(await startsLikeTar(input))) {
        throw invalidArgument(`${what}: not a tar archive (plain or gzip-compressed)`);
      }
      const names = await listEntries(input, what);
      const format = detectArchiveFormat(names);
      if (format === 'rootfs' && opts.archiveOnly === true) {
        throw invalidArgument(
          `${what} is not a docker save or OCI layout archive (a root filesystem is imported with image import)`,
        );
      }
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
      const images = await withLock(this.lockPath, () =>
        this.commit(staged, unpacked, staging, what),
      );
      for (const i of images) {
        this.log?.info(
          {
            'image.id': i.id,
            'image.ref': i.ref,
            'import.format': format,
            'import.ms': Date.now() - startedMs,
          },
          'image imported',
        );
      }
      return images;
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
    const parsed = parseReference(target);
    if (parsed.digest !== undefined) {
      throw invalidArgument(`refusing to create a tag with a digest reference: ${target}`);
    }
    const name = parsed.name;
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
      this.log?.info({ 'image.id': image.id }, 'image deleted');
      const deletedLayers = await this.collectGarbage(index);
      for (const d of image.diffIds) if (deletedLayers.has(d)) lines.push(`Deleted: ${d}`);
      return lines;
    });
  }

  /**
   * Removes dangling images (no tag), or with `all` every image, that no container uses, as
   * `docker image prune [-a]` does. Returns the deleted image ids and the bytes freed.
   */
  async prune(opts: { all?: boolean } = {}): Promise<{ lines: string[]; reclaimedBytes: number }> {
    return withLock(this.lockPath, async () => {
      const index = await readIndex(this.indexPath);
      const lines: string[] = [];
      for (const image of Object.values(index.images)) {
        if (image.refs.length > 0 && opts.all !== true) continue;
        if ((await imageInUse(this.dataRoot, image.id)).length > 0) continue;
        for (const ref of image.refs) lines.push(`untagged: ${ref}`);
        delete index.images[image.id];
        lines.push(`deleted: ${image.id}`);
      }
      if (lines.length === 0) return { lines, reclaimedBytes: 0 };
      await this.writeIndexes(index);
      const { deletedLayers, reclaimedBytes } = await this.collectGarbageCounting(index);
      for (const d of deletedLayers) lines.push(`deleted: ${d}`);
      return { lines, reclaimedBytes };
    });
  }

  /**
   * Resolves `refOrId` and runs `fn` with it while holding the store lock, so that no
   * `remove` can delete the image before `fn` has recorded its user (a container) where
   * `imageInUse` sees it. Keep `fn` short: imports wait for it.
   */
  async withImage<T>(refOrId: string, fn: (image: ResolvedImage) => Promise<T>): Promise<T> {
    return withLock(this.lockPath, async () => fn(await this.resolve(refOrId)));
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
      this.log?.warn({ 'staging.dir': name }, 'removing the staging dir of a dead import');
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
    return (await this.collectGarbageCounting(index)).deletedLayers;
  }

  private async collectGarbageCounting(
    index: ImageIndex,
  ): Promise<{ deletedLayers: Set<string>; reclaimedBytes: number }> {
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
    const deletedLayers = new Set<string>();
    let reclaimedBytes = 0;
    for (const name of await readdir(this.layersDir)) {
      if (layers.has(name)) continue;
      // Out of sight first (atomic), then the slow recursive delete.
      const aside = join(this.tmpDir, `${process.pid}-gc-${randomBytes(4).toString('hex')}`);
      await rename(join(this.layersDir, name), aside);
      await rm(aside, { recursive: true, force: true });
      deletedLayers.add(`sha256:${name}`);
    }
    for (const name of await readdir(this.blobsDir)) {
      if (blobs.has(name)) continue;
      const path = join(this.blobsDir, name);
      // Layer blobs are the layer tars: their size is what docker counts as reclaimed.
      reclaimedBytes += (await stat(path).catch(() => ({ size: 0 }))).size;
      await rm(path, { force: true });
    }
    return { deletedLayers, reclaimedBytes };
  }
}

export function shortId(id: string): string {
  return hexOf(id).slice(0, 12);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startsLikeTar(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    // An archive with no members is just zero blocks.
    return looksLikeTar(head.subarray(0, bytesRead)) || head.every((b) => b === 0);
  } finally {
    await fh.close();
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
