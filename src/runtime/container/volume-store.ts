// Named volumes of the local driver: `<data-root>/volumes/<name>/_data` holds the data and
// `volume.json` next to it what `volume inspect` shows. A volume outlives its containers; only
// `volume rm` deletes it, and not while a container (running or not) refers to it.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkVolumeName } from '../../api/mount-flag.js';
import { notFound } from '../../api/errors.js';
import { newId, readJson, writeAtomic } from './container-store.js';

/** `volume inspect` output, in docker's field names. */
export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  CreatedAt: string;
}

export class VolumeStore {
  readonly dir: string;
  constructor(dataRoot: string) {
    this.dir = join(dataRoot, 'volumes');
  }

  private metaPath(name: string): string {
    return join(this.dir, name, 'volume.json');
  }

  /**
   * Creates the volume, or returns the one of that name (docker's create is idempotent, and a
   * task's first use creates it). An anonymous volume gets a random 64-hex name.
   */
  create(name: string | undefined, labels: Record<string, string> = {}): VolumeRecord {
    const n = name ?? newId();
    checkVolumeName(n);
    mkdirSync(this.dir, { recursive: true });
    const root = join(this.dir, n);
    try {
      mkdirSync(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return this.get(n) ?? this.describe(n, labels);
    }
    mkdirSync(join(root, '_data'), { mode: 0o755 });
    const record = this.describe(n, labels);
    writeAtomic(this.metaPath(n), `${JSON.stringify(record, null, 2)}\n`);
    return record;
  }

  private describe(name: string, labels: Record<string, string>): VolumeRecord {
    let created = new Date();
    try {
      created = statSync(join(this.dir, name)).birthtime;
    } catch {
      // being created right now
    }
    return {
      Name: name,
      Driver: 'local',
      Mountpoint: join(this.dir, name, '_data'),
      Labels: labels,
      Scope: 'local',
      Options: {},
      CreatedAt: created.toISOString(),
    };
  }

  get(name: string): VolumeRecord | undefined {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) return undefined;
    const r = readJson<VolumeRecord>(this.metaPath(name));
    if (r) return r;
    try {
      // A volume whose volume.json is not written yet (a concurrent create) still exists.
      statSync(join(this.dir, name, '_data'));
      return this.describe(name, {});
    } catch {
      return undefined;
    }
  }

  inspect(name: string): VolumeRecord {
    const r = this.get(name);
    if (!r) throw notFound(`No such volume: ${name}`);
    return r;
  }

  list(): VolumeRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: VolumeRecord[] = [];
    for (const n of names.sort()) {
      const r = this.get(n);
      if (r) out.push(r);
    }
    return out;
  }

  /** Deletes the volume and its data; the caller has checked that no container uses it. */
  remove(name: string): void {
    this.inspect(name);
    rmSync(join(this.dir, name), { recursive: true, force: true });
  }
}
