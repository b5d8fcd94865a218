// Docker's `--mount` flag (`type=volume,source=data,target=/data,readonly`) and its checks, shared
// by `service create|update` and by the worker, which checks a task's mounts before it runs one.
import { parseBytes } from './byte-units.js';
import { invalidArgument } from './errors.js';
import type { Mount, MountType } from './service.js';

/** Local volume names, as docker's local driver accepts them. */
export const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function checkVolumeName(name: string): void {
  if (name.length < 2) {
    throw invalidArgument(
      `volume name is too short, names should be at least two alphanumeric characters: "${name}"`,
    );
  }
  if (!volumeNamePattern.test(name)) {
    throw invalidArgument(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

function parseBool(key: string, value: string | undefined, flag: string): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidArgument(`invalid value "${value}" for ${key} in ${flag}: expected true or false`);
}

function parseSize(value: string, flag: string): number {
  const bytes = parseBytes(value);
  if (bytes === undefined) {
    throw invalidArgument(
      `invalid value "${value}" for tmpfs-size in ${flag}: expected a size such as 64m`,
    );
  }
  return bytes;
}

/** An octal file mode ("0400", "755"): what `tmpfs-mode`, `--secret mode=` and `--config mode=` take. */
export function parseFileMode(value: string, where: string): number {
  if (!/^0?[0-7]{1,4}$/.test(value)) {
    throw invalidArgument(
      `invalid mode "${value}" for ${where}: expected an octal file mode such as 0444`,
    );
  }
  return parseInt(value, 8);
}

/** One `--mount` value as the service spec's Mount; throws naming the flag value and the key. */
export function parseMountFlag(value: string): Mount {
  const flag = `--mount ${value}`;
  let type: MountType = 'volume';
  let source: string | undefined;
  let target: string | undefined;
  let readOnly = false;
  const volumeLabels: Record<string, string> = {};
  let noCopy: boolean | undefined;
  let tmpfsSize: number | undefined;
  let tmpfsMode: number | undefined;
  let propagation: string | undefined;
  for (const field of value.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => {
      if (val === undefined || val === '') {
        throw invalidArgument(`invalid field '${field}' in ${flag}: must be a key=value pair`);
      }
      return val;
    };
    switch (key) {
      case 'type': {
        const t = need();
        if (t !== 'volume' && t !== 'bind' && t !== 'tmpfs') {
          throw invalidArgument(
            `invalid mount type "${t}" in ${flag}: expected volume, bind or tmpfs`,
          );
        }
        type = t;
        break;
      }
      case 'source':
      case 'src':
        source = need();
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = need();
        break;
      case 'readonly':
      case 'ro':
        readOnly = parseBool(key, val, flag);
        break;
      case 'volume-label': {
        const l = need();
        const leq = l.indexOf('=');
        volumeLabels[leq < 0 ? l : l.slice(0, leq)] = leq < 0 ? '' : l.slice(leq + 1);
        break;
      }
      case 'volume-nocopy':
        noCopy = parseBool(key, val, flag);
        break;
      case 'tmpfs-size':
        tmpfsSize = parseSize(need(), flag);
        break;
      case 'tmpfs-mode':
        tmpfsMode = parseFileMode(need(), `tmpfs-mode in ${flag}`);
        break;
      case 'bind-propagation':
        propagation = need();
        break;
      default:
        throw invalidArgument(`unexpected key '${key}' in '${field}' of ${flag}`);
    }
  }
  if (target === undefined) throw invalidArgument(`target is required in ${flag}`);
  const m: Mount = { Type: type, Target: target };
  if (source !== undefined) m.Source = source;
  if (readOnly) m.ReadOnly = true;
  const hasVolumeOptions = Object.keys(volumeLabels).length > 0 || noCopy !== undefined;
  if (hasVolumeOptions) {
    if (type !== 'volume')
      throw invalidArgument(`cannot mix 'volume-*' options with mount type '${type}' in ${flag}`);
    m.VolumeOptions = {};
    if (Object.keys(volumeLabels).length > 0) m.VolumeOptions.Labels = volumeLabels;
    if (noCopy !== undefined) m.VolumeOptions.NoCopy = noCopy;
  }
  if (tmpfsSize !== undefined || tmpfsMode !== undefined) {
    if (type !== 'tmpfs')
      throw invalidArgument(`cannot mix 'tmpfs-*' options with mount type '${type}' in ${flag}`);
    m.TmpfsOptions = {};
    if (tmpfsSize !== undefined) m.TmpfsOptions.SizeBytes = tmpfsSize;
    if (tmpfsMode !== undefined) m.TmpfsOptions.Mode = tmpfsMode;
  }
  if (propagation !== undefined) {
    if (type !== 'bind')
      throw invalidArgument(`cannot mix 'bind-*' options with mount type '${type}' in ${flag}`);
    const ok = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'] as const;
    const p = ok.find((o) => o === propagation);
    if (!p) throw invalidArgument(`invalid bind-propagation "${propagation}" in ${flag}`);
    m.BindOptions = { Propagation: p };
  }
  const problem = checkMount(m);
  if (problem) throw invalidArgument(`${problem} in ${flag}`);
  return m;
}

/** What is wrong with one mount of a spec, or undefined: the checks that need no node. */
export function checkMount(m: Mount): string | undefined {
  if (!m.Target.startsWith('/')) return `invalid mount target "${m.Target}": must be absolute`;
  if (m.Type === 'bind') {
    if (!m.Source) return 'invalid mount config for type "bind": field Source must not be empty';
    if (!m.Source.startsWith('/'))
      return `invalid mount config for type "bind": invalid source "${m.Source}": must be an absolute path`;
  } else if (m.Type === 'volume') {
    if (m.Source) {
      try {
        checkVolumeName(m.Source);
      } catch (err) {
        return (err as Error).message;
      }
    }
  } else if (m.Type === 'tmpfs') {
    if (m.Source) return 'invalid mount config for type "tmpfs": source must not be given';
    const o = m.TmpfsOptions;
    if (o?.SizeBytes !== undefined && (!Number.isSafeInteger(o.SizeBytes) || o.SizeBytes < 0))
      return `invalid tmpfs size ${o.SizeBytes}`;
    if (o?.Mode !== undefined && (!Number.isInteger(o.Mode) || o.Mode < 0 || o.Mode > 0o7777))
      return `invalid tmpfs mode ${o.Mode}`;
  } else {
    return `invalid mount type "${String(m.Type)}"`;
  }
  return undefined;
}

export interface FileRefFlag {
  source: string;
  target: string;
  uid: string;
  gid: string;
  mode: number;
}

/**
 * `--secret` and `--config`: a bare name, or `source=…,target=…,uid=…,gid=…,mode=…`. Secrets
 * default to /run/secrets/<source>, configs to /<source>; both to uid 0, gid 0, mode 0444.
 */
export function parseFileRefFlag(flag: '--secret' | '--config', value: string): FileRefFlag {
  const where = `${flag} ${value}`;
  if (!value.includes('=')) {
    if (value === '' || value.includes(',')) throw invalidArgument(`invalid ${where}: empty name`);
    return { source: value, target: value, uid: '0', gid: '0', mode: 0o444 };
  }
  const r: Partial<FileRefFlag> = {};
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw invalidArgument(`invalid field '${field}' in ${where}: must be key=value`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const v = field.slice(eq + 1);
    switch (key) {
      case 'source':
      case 'src':
        r.source = v;
        break;
      case 'target':
        r.target = v;
        break;
      case 'uid':
      case 'gid':
        if (!/^\d+$/.test(v)) throw invalidArgument(`invalid ${key} "${v}" in ${where}: a number`);
        r[key] = v;
        break;
      case 'mode':
        r.mode = parseFileMode(v, where);
        if (r.mode > 0o777) {
          throw invalidArgument(`invalid mode "${v}" for ${where}: at most 0777`);
        }
        break;
      default:
        throw invalidArgument(`invalid field key '${key}' in ${where}`);
    }
  }
  if (!r.source) throw invalidArgument(`source is required in ${where}`);
  return {
    source: r.source,
    target: r.target || r.source,
    uid: r.uid ?? '0',
    gid: r.gid ?? '0',
    mode: r.mode ?? 0o444,
  };
}
