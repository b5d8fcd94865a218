// On-disk layout of containers and their state files. Every write is atomic (temp + rename),
// so concurrent CLI calls and a crash at any point leave either the old or the new file.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, notFound } from '../../api/errors.js';
import type { ContainerRecord } from './types.js';

export interface ContainerPaths {
  dir: string;
  record: string;
  upper: string;
  work: string;
  log: string;
  running: string;
  exit: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  health: string;
  bundle: string;
  rootfs: string;
  ociConfig: string;
  monitorLog: string;
}

export class ContainerStore {
  readonly containersDir: string;
  readonly namesDir: string;
  constructor(
    readonly dataRoot: string,
    readonly execRoot: string,
  ) {
    this.containersDir = join(dataRoot, 'containers');
    this.namesDir = join(dataRoot, 'container-names');
  }

  paths(id: string): ContainerPaths {
    const dir = join(this.containersDir, id);
    const bundle = join(this.execRoot, 'containers', id);
    return {
      dir,
      record: join(dir, 'container.json'),
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      log: join(dir, `${id}-json.log`),
      running: join(dir, 'running.json'),
      exit: join(dir, 'exit.json'),
      hosts: join(dir, 'hosts'),
      hostname: join(dir, 'hostname'),
      resolvConf: join(dir, 'resolv.conf'),
      health: join(dir, 'health.json'),
      bundle,
      rootfs: join(bundle, 'rootfs'),
      ociConfig: join(bundle, 'config.json'),
      monitorLog: join(bundle, 'monitor.log'),
    };
  }

  namePath(name: string): string {
    return join(this.namesDir, name);
  }

  ids(): string[] {
    try {
      return readdirSync(this.containersDir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  }

  /** A full id from an id, a unique id prefix or a name (docker accepts all three). */
  resolve(ref: string): string {
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    if (/^[0-9a-f]{64}$/.test(ref) && existsSync(join(this.containersDir, ref))) return ref;
    if (name !== '' && !name.includes('/') && !name.startsWith('.')) {
      try {
        const id = readFileSync(this.namePath(name), 'utf8').trim();
        if (existsSync(join(this.containersDir, id, 'container.json'))) return id;
      } catch {
        // not a name
      }
    }
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = this.ids().filter((id) => id.startsWith(ref));
      if (matches.length === 1 && matches[0]) return matches[0];
      if (matches.length > 1) {
        throw invalidArgument(
          `multiple containers found with id prefix ${ref}: use more characters`,
        );
      }
    }
    throw notFound(`No such container: ${ref}`);
  }

  readRecord(id: string): ContainerRecord {
    return JSON.parse(readFileSync(this.paths(id).record, 'utf8')) as ContainerRecord;
  }
}

export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const adjectives = [
  'admiring',
  'brave',
  'clever',
  'dreamy',
  'eager',
  'focused',
  'gifted',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'modest',
  'nifty',
  'optimistic',
  'quirky',
  'relaxed',
  'serene',
  'tender',
  'upbeat',
  'vibrant',
  'wizardly',
  'zealous',
];
const nouns = [
  'archimedes',
  'babbage',
  'curie',
  'dijkstra',
  'euler',
  'fermat',
  'gauss',
  'hopper',
  'knuth',
  'lamport',
  'lovelace',
  'mccarthy',
  'noether',
  'pascal',
  'ritchie',
  'shannon',
  'thompson',
  'turing',
  'wozniak',
];

/** A docker-like random name ("happy_turing"); the caller retries on collision. */
export function randomName(attempt: number): string {
  const a = adjectives[randomBytes(1)[0]! % adjectives.length]!;
  const n = nouns[randomBytes(1)[0]! % nouns.length]!;
  return attempt < 3 ? `${a}_${n}` : `${a}_${n}${attempt}`;
}
