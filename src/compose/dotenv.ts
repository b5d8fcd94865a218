import { interpolateString } from './interpolate.js';

export type DotenvResult =
  { ok: true; values: Record<string, string | null> } | { ok: false; error: string };

/**
 * Reads a `.env` / `env_file`: `KEY=VALUE` lines, `#` comments, optional `export `, single
 * quotes literal, double quotes with escapes; unquoted and double-quoted values interpolate
 * earlier keys and the environment. A bare `KEY` has no value (filled from the environment later).
 */
export function parseDotenv(
  text: string,
  lookup: (name: string) => string | undefined,
): DotenvResult {
  const values: Record<string, string | null> = {};
  const scoped = (name: string): string | undefined => values[name] ?? lookup(name);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    if (eq < 0) {
      if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(body))
        return { ok: false, error: `line ${n + 1}: expected KEY=VALUE` };
      values[body] = null;
      continue;
    }
    const key = body.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key))
      return { ok: false, error: `line ${n + 1}: invalid variable name ${JSON.stringify(key)}` };
    let raw = body.slice(eq + 1).trim();
    if (raw.startsWith("'")) {
      const end = raw.indexOf("'", 1);
      if (end < 0) return { ok: false, error: `line ${n + 1}: unterminated single quote` };
      values[key] = raw.slice(1, end);
      continue;
    }
    if (raw.startsWith('"')) {
      let v = '';
      let i = 1;
      let closed = false;
      for (; i < raw.length; i++) {
        const c = raw[i];
        if (c === '\\' && i + 1 < raw.length) {
          const e = raw[++i];
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else if (c === '"') {
          closed = true;
          break;
        } else v += c;
      }
      if (!closed) return { ok: false, error: `line ${n + 1}: unterminated double quote` };
      const r = interpolateString(v, scoped);
      if (!r.ok) return { ok: false, error: `line ${n + 1}: ${r.error}` };
      values[key] = r.value;
      continue;
    }
    const hash = raw.search(/\s#/);
    if (hash >= 0) raw = raw.slice(0, hash).trimEnd();
    const r = interpolateString(raw, scoped);
    if (!r.ok) return { ok: false, error: `line ${n + 1}: ${r.error}` };
    values[key] = r.value;
  }
  return { ok: true, values };
}
