// Parsers for the docker-style strings users type (`-m 512m`, `-v /a:/b:ro`, `--cpus 1.5`).
// Each throws an invalidArgument error that names the flag and the bad value.
import { parseBytes } from '../../api/byte-units.js';
import { invalidArgument } from '../../api/errors.js';
import { checkVolumeName } from '../../api/mount-flag.js';

/** Docker refuses memory limits below 6 MiB: the container could not even start. */
export const minMemoryBytes = 6 * 1024 * 1024;

/** "512m", "1g", "1.5g", "1048576" → bytes. */
export function parseMemory(value: string | number): number {
  const bytes = typeof value === 'number' ? value : parseBytes(value);
  if (bytes === undefined) {
    throw invalidArgument(
      `invalid value "${String(value)}" for --memory: expected a size such as 512m or 1g (units b, k, m, g, t)`,
    );
  }
  if (!Number.isSafeInteger(bytes) || bytes < minMemoryBytes) {
    throw invalidArgument(
      `invalid value "${String(value)}" for --memory: the minimum memory limit is 6m`,
    );
  }
  return bytes;
}

/** "1.5" → 1.5e9 nano CPUs, as docker's HostConfig.NanoCpus. */
export function parseCpus(value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'string' && !/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    throw invalidArgument(`invalid value "${value}" for --cpus: expected a number such as 0.5`);
  }
  if (!Number.isFinite(n) || n <= 0 || n > 1024) {
    throw invalidArgument(
      `invalid value "${String(value)}" for --cpus: must be greater than 0 and at most 1024`,
    );
  }
  return Math.round(n * 1e9);
}

export function parsePidsLimit(value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n === 0 || n < -1) {
    throw invalidArgument(
      `invalid value "${String(value)}" for --pids-limit: expected a positive integer or -1`,
    );
  }
  return n;
}

/** "K=V" stays; a bare "K" takes the caller's value, as docker does (dropped if unset). */
export function parseEnv(entries: readonly string[], lookup = process.env): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e === '' || e.startsWith('=')) throw invalidArgument(`invalid environment "${e}" for -e`);
    const eq = e.indexOf('=');
    if (eq >= 0) out.push(e);
    else if (lookup[e] !== undefined) out.push(`${e}=${lookup[e]}`);
  }
  return out;
}

/** Lines of an --env-file: comments and blank lines skipped. */
export function parseEnvFile(path: string, text: string, lookup = process.env): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const entries = lines.filter((l) => l !== '' && !l.startsWith('#'));
  try {
    return parseEnv(entries, lookup);
  } catch (err) {
    throw invalidArgument(`invalid --env-file ${path}: ${(err as Error).message}`);
  }
}

/** Merges env lists; later entries override earlier ones with the same key. */
export function mergeEnv(...lists: readonly (readonly string[])[]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const e of list) {
      const eq = e.indexOf('=');
      map.set(eq < 0 ? e : e.slice(0, eq), e);
    }
  }
  return [...map.values()];
}

export interface BindSpec {
  /** A host path, or a volume name when `volume`. */
  source: string;
  destination: string;
  readOnly: boolean;
  volume: boolean;
}

export function parseBind(value: string): BindSpec {
  const parts = value.split(':');
  const [source, destination, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !source || !destination) {
    throw invalidArgument(`invalid volume "${value}" for -v: expected SRC:DST[:ro|rw]`);
  }
  const volume = !source.startsWith('/');
  if (volume) {
    try {
      checkVolumeName(source);
    } catch (err) {
      throw invalidArgument(`invalid volume "${value}" for -v: ${(err as Error).message}`);
    }
  }
  if (!destination.startsWith('/')) {
    throw invalidArgument(`invalid volume "${value}" for -v: the destination must be absolute`);
  }
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
    throw invalidArgument(`invalid volume "${value}" for -v: mode must be ro or rw`);
  }
  return { source, destination, readOnly: mode === 'ro', volume };
}

export interface TmpfsSpec {
  destination: string;
  options: string;
}

export function parseTmpfs(value: string): TmpfsSpec {
  const colon = value.indexOf(':');
  const destination = colon < 0 ? value : value.slice(0, colon);
  const options = colon < 0 ? '' : value.slice(colon + 1);
  if (!destination.startsWith('/')) {
    throw invalidArgument(`invalid value "${value}" for --tmpfs: expected /PATH[:OPTIONS]`);
  }
  if (options !== '' && !/^[a-zA-Z0-9_=,.-]+$/.test(options)) {
    throw invalidArgument(`invalid options "${options}" for --tmpfs ${destination}`);
  }
  return { destination, options };
}

export function parseLabels(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === '') throw invalidArgument(`invalid label "${e}" for --label: empty key`);
    out[key] = eq < 0 ? '' : e.slice(eq + 1);
  }
  return out;
}

const signals: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31,
};

/** "TERM", "SIGTERM", "15" → "SIGTERM". */
export function parseSignal(flag: string, value: string): string {
  const v = value.trim().toUpperCase();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    const name = Object.entries(signals).find(([, num]) => num === n)?.[0];
    if (name) return `SIG${name}`;
  } else {
    const bare = v.startsWith('SIG') ? v.slice(3) : v;
    if (signals[bare] !== undefined) return `SIG${bare}`;
  }
  throw invalidArgument(`invalid signal "${value}" for ${flag}`);
}

const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateName(name: string): string {
  const n = name.startsWith('/') ? name.slice(1) : name;
  if (!nameRe.test(n) || n.length > 128) {
    throw invalidArgument(
      `invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  return n;
}

export function validateHostname(hostname: string): string {
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(hostname)) {
    throw invalidArgument(`invalid hostname "${hostname}" for --hostname`);
  }
  return hostname;
}
