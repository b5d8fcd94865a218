import { readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { castTypes } from './cast.js';
import type { Diagnostic } from './diagnostic.js';
import { parseDotenv } from './dotenv.js';
import { interpolateString } from './interpolate.js';
import { locate } from './locate.js';
import { mergeFiles } from './merge.js';
import { isObj, normalizeFile, type Obj } from './normalize.js';
import { parseComposeSource, decodeComposeBytes, type LocationIndex } from './source.js';
import { validateAgainstSchema } from './validate.js';
import { checkMerged } from './checks.js';

/** The file system as the loader sees it; tests substitute an in-memory one. */
export interface ComposeHost {
  /** File contents, or undefined when the file does not exist; `-` is standard input. */
  readFile(path: string): Uint8Array | undefined;
}

export const nodeComposeHost: ComposeHost = {
  readFile(path) {
    try {
      // fd 0, not /dev/stdin: a socket on stdin (as Node's child_process gives) cannot be opened.
      return readFileSync(path === '-' ? 0 : path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
};

export interface LoadComposeOptions {
  /** Compose files in `-c` order. */
  files: readonly string[];
  /** Variables for interpolation; `process.env` when omitted. */
  env?: Readonly<Record<string, string | undefined>>;
  skipInterpolation?: boolean;
  cwd?: string;
  host?: ComposeHost;
}

export type ComposeConfig = Obj;

export interface LoadComposeResult {
  /** Present when there is no error diagnostic. */
  config: ComposeConfig | undefined;
  /** Errors and warnings, in the order found. */
  diagnostics: Diagnostic[];
  /** Where each file's keys were written, in `-c` order, for later stages' messages. */
  locations: LocationIndex[];
}

const fileError = (file: string, message: string): Diagnostic => ({
  severity: 'error',
  file,
  line: 0,
  column: 0,
  path: '',
  message,
});

/**
 * Loads compose files as `docker stack config` does, following the current compose spec where
 * docker's v3 loader lags: parse → interpolate → cast → validate → normalise, per file; then merge
 * and cross-file checks.
 */
export function loadCompose(options: LoadComposeOptions): LoadComposeResult {
  const host = options.host ?? nodeComposeHost;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const diagnostics: Diagnostic[] = [];
  const locations: LocationIndex[] = [];
  const first = options.files[0];
  if (first === undefined) {
    return {
      config: undefined,
      diagnostics: [fileError('', 'no compose file given (use -c FILE)')],
      locations,
    };
  }
  // `-c -` reads the file from stdin, as docker does; relative paths then resolve against cwd.
  const pathOf = (file: string): string => (file === '-' ? '-' : resolvePath(cwd, file));
  const workingDir = first === '-' ? cwd : dirname(resolvePath(cwd, first));
  const readText = (p: string): string | undefined => {
    const bytes = host.readFile(p);
    return bytes === undefined ? undefined : decodeComposeBytes(bytes);
  };

  // The process environment wins over `.env`, as in docker compose.
  let dotenv: Record<string, string | null> = {};
  const dotenvPath = join(workingDir, '.env');
  const dotenvText = options.skipInterpolation ? undefined : readText(dotenvPath);
  if (dotenvText !== undefined) {
    const parsed = parseDotenv(dotenvText, (n) => env[n]);
    if (!parsed.ok)
      return { config: undefined, diagnostics: [fileError(dotenvPath, parsed.error)], locations };
    dotenv = parsed.values;
  }
  const lookup = (name: string): string | undefined => env[name] ?? dotenv[name] ?? undefined;

  const normalized: Obj[] = [];
  for (const file of options.files) {
    const text = readText(pathOf(file));
    if (text === undefined) {
      diagnostics.push(fileError(file, 'file not found'));
      continue;
    }
    const parsed = parseComposeSource(file, text);
    if (!parsed.ok) {
      diagnostics.push(...parsed.diagnostics);
      continue;
    }
    const { data, locations: loc } = parsed.source;
    locations.push(loc);
    if (!isObj(data)) {
      diagnostics.push(fileError(file, 'top-level must be a mapping'));
      continue;
    }
    const fileDiags: Diagnostic[] = [];
    const interpolated = options.skipInterpolation
      ? data
      : interpolateTree(data, [], lookup, loc, fileDiags);
    if (fileDiags.length === 0) fileDiags.push(...castTypes(interpolated, loc));
    if (fileDiags.length === 0) fileDiags.push(...validateAgainstSchema(interpolated, loc));
    if (fileDiags.length > 0) {
      diagnostics.push(...fileDiags);
      continue;
    }
    const ctx = {
      locations: loc,
      workingDir,
      lookup,
      readFile: readText,
      diagnostics,
    };
    normalized.push(normalizeFile(interpolated as Obj, ctx));
  }
  if (diagnostics.some((d) => d.severity === 'error'))
    return { config: undefined, diagnostics, locations };
  const merged = mergeFiles(normalized);
  diagnostics.push(...checkMerged(merged, normalized, locations));
  if (diagnostics.some((d) => d.severity === 'error'))
    return { config: undefined, diagnostics, locations };
  return { config: merged, diagnostics, locations };
}

function interpolateTree(
  node: unknown,
  path: string[],
  lookup: (name: string) => string | undefined,
  loc: LocationIndex,
  diags: Diagnostic[],
): unknown {
  if (typeof node === 'string') {
    if (!node.includes('$')) return node;
    const r = interpolateString(node, lookup);
    if (r.ok) return r.value;
    const p = locate(loc, path);
    diags.push({
      severity: 'error',
      file: loc.file,
      line: p.line,
      column: p.column,
      path: path.join('.'),
      message: `invalid interpolation: ${r.error}`,
    });
    return node;
  }
  if (Array.isArray(node))
    return node.map((v, i) => interpolateTree(v, [...path, String(i)], lookup, loc, diags));
  if (isObj(node)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(node))
      out[k] = interpolateTree(v, [...path, k], lookup, loc, diags);
    return out;
  }
  return node;
}
