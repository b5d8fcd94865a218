import { isObj, type Obj } from './normalize.js';

function mergeByKey(base: unknown[], override: unknown[], key: (v: unknown) => string): unknown[] {
  const out = [...base];
  for (const item of override) {
    const k = key(item);
    const at = out.findIndex((b) => key(b) === k);
    if (at >= 0) out[at] = item;
    else out.push(item);
  }
  return out;
}

function appendUnique(base: unknown[], override: unknown[]): unknown[] {
  const seen = new Set(base.map((v) => JSON.stringify(v)));
  return [...base, ...override.filter((v) => !seen.has(JSON.stringify(v)))];
}

/** Maps merge key by key, lists append (without duplicates), scalars are replaced. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (isObj(base) && isObj(override)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(override)) out[k] = k in out ? deepMerge(out[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(override)) return appendUnique(base, override);
  return override;
}

const field = (v: unknown, k: string): string => (isObj(v) ? String(v[k] ?? '') : String(v));

// The compose merge rules: some lists are keyed (a later file replaces the entry with the same
// key), commands are replaced whole, everything else merges deeply.
const serviceRules: Record<string, (base: unknown, over: unknown) => unknown> = {
  command: (_b, o) => o,
  entrypoint: (_b, o) => o,
  ports: (b, o) =>
    Array.isArray(b) && Array.isArray(o)
      ? mergeByKey(
          b,
          o,
          (p) => `${field(p, 'published')}:${field(p, 'target')}/${field(p, 'protocol')}`,
        )
      : o,
  volumes: (b, o) =>
    Array.isArray(b) && Array.isArray(o) ? mergeByKey(b, o, (v) => field(v, 'target')) : o,
  secrets: (b, o) =>
    Array.isArray(b) && Array.isArray(o) ? mergeByKey(b, o, (v) => field(v, 'source')) : o,
  configs: (b, o) =>
    Array.isArray(b) && Array.isArray(o) ? mergeByKey(b, o, (v) => field(v, 'source')) : o,
  healthcheck: (b, o) => {
    if (!isObj(b) || !isObj(o)) return o;
    const merged = deepMerge(b, o) as Obj;
    if ('test' in o) merged['test'] = o['test'];
    return merged;
  },
  logging: (b, o) => {
    if (!isObj(b) || !isObj(o)) return o;
    if (o['driver'] !== undefined && b['driver'] !== undefined && o['driver'] !== b['driver'])
      return o;
    return deepMerge(b, o);
  },
  depends_on: (b, o) => {
    if (Array.isArray(b) && Array.isArray(o)) return appendUnique(b, o);
    return deepMerge(toDependsMap(b), toDependsMap(o));
  },
};

function toDependsMap(v: unknown): Obj {
  if (isObj(v)) return v;
  const out: Obj = {};
  if (Array.isArray(v)) for (const s of v) out[String(s)] = { condition: 'service_started' };
  return out;
}

export function mergeService(base: Obj, override: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (!(k in out)) out[k] = v;
    else out[k] = (serviceRules[k] ?? deepMerge)(out[k], v);
  }
  return out;
}

/** Merges normalised files in `-c` order; later files win. */
export function mergeFiles(files: readonly Obj[]): Obj {
  const out: Obj = {};
  for (const file of files) {
    for (const [k, v] of Object.entries(file)) {
      if (k === 'services' && isObj(v)) {
        const services: Obj = isObj(out['services']) ? { ...out['services'] } : {};
        for (const [name, svc] of Object.entries(v)) {
          const prev = services[name];
          services[name] = isObj(prev) && isObj(svc) ? mergeService(prev, svc) : svc;
        }
        out['services'] = services;
      } else if (k in out) {
        out[k] = deepMerge(out[k], v);
      } else {
        out[k] = v;
      }
    }
  }
  return out;
}
