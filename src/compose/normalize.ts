import { isAbsolute, resolve as resolvePath } from 'node:path';
import { formatGoDuration, parseBytes, parseDurationNs } from '../api/index.js';
import type { Diagnostic } from './diagnostic.js';
import { locate } from './locate.js';
import type { LocationIndex } from './source.js';
import { shellSplit } from './shell-split.js';
import { parseDotenv } from './dotenv.js';

export type Obj = Record<string, unknown>;

export interface NormalizeContext {
  locations: LocationIndex;
  /** Directory that relative paths resolve against: the first file's directory. */
  workingDir: string;
  lookup: (name: string) => string | undefined;
  readFile: (path: string) => string | undefined;
  diagnostics: Diagnostic[];
}

export const isObj = (v: unknown): v is Obj =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function report(
  ctx: NormalizeContext,
  severity: Diagnostic['severity'],
  path: (string | number)[],
  message: string,
  preferKey = false,
): void {
  const p = locate(ctx.locations, path, preferKey);
  ctx.diagnostics.push({
    severity,
    file: ctx.locations.file,
    line: p.line,
    column: p.column,
    path: path.join('.'),
    message,
  });
}

const scalarString = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : String(v);

/** `[K=V, K]` or `{K: V}` → `{K: "V"}`; a key with no value is null (or "" when emptyAsString). */
function listOrDict(value: unknown, emptyAsString: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq < 0) out[s] = emptyAsString ? '' : null;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      const s = scalarString(v);
      out[k] = s === null && emptyAsString ? '' : s;
    }
  }
  return out;
}

function duration(
  ctx: NormalizeContext,
  obj: Obj,
  key: string,
  path: (string | number)[],
  dropZero: boolean,
): void {
  const v = obj[key];
  if (v === undefined || v === null) return;
  const ns = typeof v === 'string' ? parseDurationNs(v) : undefined;
  if (ns === undefined) {
    report(
      ctx,
      'error',
      [...path, key],
      `must be a duration with a unit such as "10s" or "1m30s", got ${JSON.stringify(v)}`,
    );
    return;
  }
  if (ns === 0 && dropZero) delete obj[key];
  else obj[key] = formatGoDuration(ns);
}

function bytes(ctx: NormalizeContext, obj: Obj, key: string, path: (string | number)[]): void {
  const v = obj[key];
  if (v === undefined || v === null) return;
  const n = typeof v === 'string' || typeof v === 'number' ? parseBytes(v) : undefined;
  if (n === undefined) {
    report(
      ctx,
      'error',
      [...path, key],
      `must be a byte size such as "512M" or "1.5G", got ${JSON.stringify(v)}`,
    );
    return;
  }
  obj[key] = String(n);
}

export function expandHome(p: string, ctx: NormalizeContext): string {
  if (p === '~') return ctx.lookup('HOME') ?? '~';
  if (p.startsWith('~/')) return `${ctx.lookup('HOME') ?? '~'}${p.slice(1)}`;
  return p;
}

function absolutePath(p: string, ctx: NormalizeContext): string {
  const home = expandHome(p, ctx);
  return isAbsolute(home) ? home : resolvePath(ctx.workingDir, home);
}

/** Normalises one interpolated, validated file into the shape `docker stack config` prints. */
export function normalizeFile(data: Obj, ctx: NormalizeContext): Obj {
  const out: Obj = { ...data };
  if (isObj(data['services'])) {
    const services: Obj = {};
    for (const [name, svc] of Object.entries(data['services'])) {
      services[name] = normalizeService(isObj(svc) ? svc : {}, ['services', name], ctx);
    }
    out['services'] = services;
  }
  for (const kind of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    const section = data[kind];
    if (!isObj(section)) continue;
    const normalized: Obj = {};
    for (const [name, def] of Object.entries(section)) {
      normalized[name] = normalizeTopLevel(kind, name, isObj(def) ? def : {}, ctx);
    }
    out[kind] = normalized;
  }
  return out;
}

const singular = {
  networks: 'network',
  volumes: 'volume',
  secrets: 'secret',
  configs: 'config',
} as const;

function normalizeTopLevel(
  kind: keyof typeof singular,
  name: string,
  def: Obj,
  ctx: NormalizeContext,
): Obj {
  const o: Obj = { ...def };
  const path = [kind, name];
  const ext = o['external'];
  if (isObj(ext)) {
    if (typeof ext['name'] === 'string') {
      if (typeof o['name'] === 'string' && o['name'] !== ext['name']) {
        report(ctx, 'error', [...path, 'external', 'name'], `conflicts with ${kind}.${name}.name`);
      }
      o['name'] = ext['name'];
      report(
        ctx,
        'warning',
        [...path, 'external', 'name'],
        `${singular[kind]}.external.name is deprecated in favor of ${singular[kind]}.name`,
      );
    }
    o['external'] = true;
  }
  if (o['external'] === true) {
    for (const k of [
      'driver',
      'driver_opts',
      'file',
      'ipam',
      'internal',
      'attachable',
      'labels',
      'content',
      'environment',
    ]) {
      if (
        k in o &&
        !(k === 'attachable' && kind === 'networks') &&
        !(k === 'internal' && kind === 'networks')
      ) {
        report(
          ctx,
          'error',
          [...path, k],
          `conflicting parameters "external" and "${k}" specified for ${singular[kind]} "${name}"`,
          true,
        );
      }
    }
    o['name'] ??= name;
  } else if (o['external'] === false) {
    delete o['external'];
  }
  if (isObj(o['driver_opts'])) o['driver_opts'] = listOrDict(o['driver_opts'], true);
  if (o['labels'] !== undefined) o['labels'] = listOrDict(o['labels'], true);
  if ((kind === 'secrets' || kind === 'configs') && typeof o['file'] === 'string') {
    o['file'] = absolutePath(o['file'], ctx);
  }
  return o;
}

function normalizeService(svc: Obj, path: string[], ctx: NormalizeContext): Obj {
  const o: Obj = { ...svc };
  for (const key of ['command', 'entrypoint'] as const) {
    const v = o[key];
    if (typeof v === 'string') {
      const words = shellSplit(v);
      if (words === undefined)
        report(ctx, 'error', [...path, key], `unterminated quote in ${JSON.stringify(v)}`);
      else o[key] = words;
    }
  }
  for (const key of ['dns', 'dns_search', 'tmpfs', 'env_file', 'cap_add', 'cap_drop'] as const) {
    if (typeof o[key] === 'string') o[key] = [o[key]];
  }
  for (const key of ['secrets', 'configs'] as const) {
    if (Array.isArray(o[key]))
      o[key] = (o[key] as unknown[]).map((s) => (typeof s === 'string' ? { source: s } : s));
  }
  if (Array.isArray(o['expose'])) o['expose'] = (o['expose'] as unknown[]).map(String);
  if (o['labels'] !== undefined) o['labels'] = listOrDict(o['labels'], true);
  if (o['sysctls'] !== undefined) o['sysctls'] = listOrDict(o['sysctls'], true);
  if (Array.isArray(o['networks'])) {
    const nets: Obj = {};
    for (const n of o['networks'] as unknown[]) nets[String(n)] = null;
    o['networks'] = nets;
  }
  normalizeEnvironment(o, path, ctx);
  duration(ctx, o, 'stop_grace_period', path, false);
  if (isObj(o['healthcheck'])) {
    const hc: Obj = { ...o['healthcheck'] };
    const hp = [...path, 'healthcheck'];
    if (typeof hc['test'] === 'string') hc['test'] = ['CMD-SHELL', hc['test']];
    for (const k of ['interval', 'timeout', 'start_period', 'start_interval'])
      duration(ctx, hc, k, hp, false);
    o['healthcheck'] = hc;
  }
  if (isObj(o['deploy'])) o['deploy'] = normalizeDeploy(o['deploy'], [...path, 'deploy'], ctx);
  if (Array.isArray(o['ports']))
    o['ports'] = normalizePorts(o['ports'] as unknown[], [...path, 'ports'], ctx);
  if (Array.isArray(o['volumes'])) {
    o['volumes'] = (o['volumes'] as unknown[]).map((v, i) =>
      normalizeVolume(v, [...path, 'volumes', i], ctx),
    );
  }
  return o;
}

function normalizeEnvironment(o: Obj, path: string[], ctx: NormalizeContext): void {
  const fromFiles: Record<string, string | null> = {};
  if (Array.isArray(o['env_file'])) {
    (o['env_file'] as unknown[]).forEach((entry, i) => {
      const file = typeof entry === 'string' ? entry : isObj(entry) ? entry['path'] : undefined;
      const required = isObj(entry) ? entry['required'] !== false : true;
      if (typeof file !== 'string') return;
      const text = ctx.readFile(absolutePath(file, ctx));
      if (text === undefined) {
        if (required)
          report(
            ctx,
            'error',
            [...path, 'env_file', i],
            `env file ${absolutePath(file, ctx)} not found`,
          );
        return;
      }
      const parsed = parseDotenv(text, ctx.lookup);
      if (!parsed.ok) {
        report(ctx, 'error', [...path, 'env_file', i], `${file}: ${parsed.error}`);
        return;
      }
      Object.assign(fromFiles, parsed.values);
    });
  }
  if (o['environment'] === undefined && Object.keys(fromFiles).length === 0) return;
  const env = { ...fromFiles, ...listOrDict(o['environment'], false) };
  for (const [k, v] of Object.entries(env)) {
    if (v === null) {
      const fromProcess = ctx.lookup(k);
      if (fromProcess !== undefined) env[k] = fromProcess;
    }
  }
  o['environment'] = env;
}

function normalizeDeploy(d: Obj, path: string[], ctx: NormalizeContext): Obj {
  const o: Obj = { ...d };
  if (o['labels'] !== undefined) o['labels'] = listOrDict(o['labels'], true);
  for (const key of ['update_config', 'rollback_config'] as const) {
    if (!isObj(o[key])) continue;
    const u: Obj = { ...o[key] };
    duration(ctx, u, 'delay', [...path, key], true);
    duration(ctx, u, 'monitor', [...path, key], true);
    o[key] = u;
  }
  if (isObj(o['restart_policy'])) {
    const r: Obj = { ...o['restart_policy'] };
    duration(ctx, r, 'delay', [...path, 'restart_policy'], false);
    duration(ctx, r, 'window', [...path, 'restart_policy'], false);
    o['restart_policy'] = r;
  }
  if (isObj(o['resources'])) {
    const res: Obj = { ...o['resources'] };
    for (const k of ['limits', 'reservations'] as const) {
      if (!isObj(res[k])) continue;
      const l: Obj = { ...res[k] };
      const lp = [...path, 'resources', k];
      if (typeof l['cpus'] === 'number') l['cpus'] = String(l['cpus']);
      if (typeof l['cpus'] === 'string' && !/^\d+(\.\d+)?$|^\.\d+$/.test(l['cpus'])) {
        report(
          ctx,
          'error',
          [...lp, 'cpus'],
          `must be a number of CPUs such as "0.5", got ${JSON.stringify(l['cpus'])}`,
        );
      }
      bytes(ctx, l, 'memory', lp);
      res[k] = l;
    }
    o['resources'] = res;
  }
  return o;
}

interface PortSpec {
  ip: string | undefined;
  pubLo: string | undefined;
  pubHi: string | undefined;
  tgtLo: string;
  tgtHi: string | undefined;
  protocol: string;
}

function parsePortSpec(spec: string): PortSpec | undefined {
  let rest = spec;
  let protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(protocol)) return undefined;
  }
  const parts = rest.split(':');
  const target = parts.pop() as string;
  const published = parts.length > 0 ? parts.pop() : undefined;
  const ip = parts.length > 0 ? parts.join(':').replace(/^\[(.*)\]$/, '$1') : undefined;
  const rangeRe = /^(\d+)(?:-(\d+))?$/;
  const t = rangeRe.exec(target);
  if (!t) return undefined;
  let pub: RegExpExecArray | null = null;
  if (published !== undefined && published !== '') {
    pub = rangeRe.exec(published);
    if (!pub) return undefined;
  }
  return { ip, pubLo: pub?.[1], pubHi: pub?.[2], tgtLo: t[1] as string, tgtHi: t[2], protocol };
}

function range(lo: string, hi: string | undefined): number[] {
  const a = parseInt(lo, 10);
  const b = hi === undefined ? a : parseInt(hi, 10);
  const out: number[] = [];
  for (let p = a; p <= b && out.length <= 65536; p++) out.push(p);
  return out;
}

function normalizePorts(ports: unknown[], path: (string | number)[], ctx: NormalizeContext): Obj[] {
  const out: Obj[] = [];
  ports.forEach((p, i) => {
    if (isObj(p)) {
      const o: Obj = { ...p };
      if (typeof o['published'] === 'string' && /^\d+$/.test(o['published']))
        o['published'] = parseInt(o['published'], 10);
      out.push(o);
      return;
    }
    const spec = String(p);
    const parsed = parsePortSpec(spec);
    if (!parsed) {
      report(
        ctx,
        'error',
        [...path, i],
        `invalid port ${JSON.stringify(spec)}: expected [HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]`,
      );
      return;
    }
    const { ip, pubLo, pubHi, tgtLo, tgtHi, protocol } = parsed;
    const targets = range(tgtLo as string, tgtHi);
    const published = pubLo === undefined ? undefined : range(pubLo, pubHi);
    if (published && published.length !== targets.length) {
      report(
        ctx,
        'error',
        [...path, i],
        `invalid port ${JSON.stringify(spec)}: published and target ranges differ in length`,
      );
      return;
    }
    targets.forEach((target, j) => {
      const entry: Obj = { mode: 'ingress', target };
      if (published) entry['published'] = published[j];
      entry['protocol'] = protocol;
      if (ip !== undefined && ip !== '') {
        report(
          ctx,
          'warning',
          [...path, i],
          `ignoring IP-address (${ip}:${published?.[j] ?? ''}:${target}/${protocol}) service will listen on '0.0.0.0'`,
        );
      }
      out.push(entry);
    });
  });
  return out;
}

const propagations = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);

function normalizeVolume(v: unknown, path: (string | number)[], ctx: NormalizeContext): unknown {
  if (isObj(v)) {
    const o: Obj = { ...v };
    if (o['type'] === 'bind') {
      if (typeof o['source'] !== 'string' || o['source'] === '') {
        report(ctx, 'error', path, 'a bind mount needs a source (the host path to mount)');
      } else {
        o['source'] = absolutePath(o['source'], ctx);
      }
    }
    return o;
  }
  const spec = String(v);
  const parts = spec.split(':');
  if (parts.some((p) => p === '')) {
    report(
      ctx,
      'error',
      path,
      `invalid volume ${JSON.stringify(spec)}: empty section between colons`,
    );
    return { type: 'volume', target: spec };
  }
  if (parts.length === 1) return { type: 'volume', target: spec };
  if (parts.length > 3) {
    report(ctx, 'error', path, `invalid volume ${JSON.stringify(spec)}: too many colons`);
    return { type: 'volume', target: spec };
  }
  const [source, target, modes] = parts as [string, string, string | undefined];
  const isPath = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  const o: Obj = isPath
    ? { type: 'bind', source: absolutePath(source, ctx), target }
    : { type: 'volume', source, target };
  for (const mode of (modes ?? '').split(',').filter((m) => m !== '')) {
    if (mode === 'ro') o['read_only'] = true;
    else if (mode === 'rw') continue;
    else if (mode === 'nocopy') o['volume'] = { nocopy: true };
    else if (mode === 'z' || mode === 'Z')
      o['bind'] = { ...(isObj(o['bind']) ? o['bind'] : {}), selinux: mode };
    else if (propagations.has(mode))
      o['bind'] = { ...(isObj(o['bind']) ? o['bind'] : {}), propagation: mode };
    else if (mode === 'cached' || mode === 'delegated' || mode === 'consistent')
      o['consistency'] = mode;
    else
      report(
        ctx,
        'error',
        path,
        `invalid volume ${JSON.stringify(spec)}: unknown mode ${JSON.stringify(mode)}`,
      );
  }
  return o;
}
