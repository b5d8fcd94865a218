import { posix } from 'node:path';
import { constants } from 'node:os';
import { invalidArgument } from '../../api/errors.js';
import { parseDurationNs } from '../../api/go-duration.js';
import type { ImageConfig } from './types.js';

const supported = [
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'LABEL',
  'USER',
  'VOLUME',
  'WORKDIR',
  'STOPSIGNAL',
  'HEALTHCHECK',
];

/**
 * Applies Dockerfile instructions to an image config as `docker import --change` does, one
 * instruction per string. Returns a new config; throws InvalidArgument naming the change
 * that is wrong and why, before anything is stored.
 */
export function applyChanges(config: ImageConfig, changes: readonly string[]): ImageConfig {
  let out: ImageConfig = structuredClone(config);
  changes.forEach((change, i) => {
    out = applyChange(out, change, `--change #${i + 1} "${change}"`);
  });
  return out;
}

function applyChange(config: ImageConfig, change: string, where: string): ImageConfig {
  const trimmed = change.trim();
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed);
  if (!m?.[1]) throw invalidArgument(`${where}: empty instruction`);
  const instruction = m[1].toUpperCase();
  const args = (m[2] ?? '').trim();
  const bad = (why: string) => invalidArgument(`${where}: ${why}`);
  if (instruction === 'ONBUILD') {
    throw bad('ONBUILD is not supported by import (there is no later build to trigger)');
  }
  if (!supported.includes(instruction)) {
    throw bad(`unknown or unsupported instruction ${instruction} (one of ${supported.join(', ')})`);
  }
  if (args === '') throw bad(`${instruction} needs arguments`);
  switch (instruction) {
    case 'CMD':
      return { ...config, Cmd: commandForm(args) };
    case 'ENTRYPOINT':
      return { ...config, Entrypoint: commandForm(args) };
    case 'ENV': {
      const env = [...(config.Env ?? [])];
      for (const [k, v] of keyValues(args, 'ENV', bad, true)) {
        const i = env.findIndex((e) => e.split('=', 1)[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      return { ...config, Env: env };
    }
    case 'LABEL': {
      const labels = { ...(config.Labels ?? {}) };
      for (const [k, v] of keyValues(args, 'LABEL', bad, false)) labels[k] = v;
      return { ...config, Labels: labels };
    }
    case 'EXPOSE': {
      const ports: Record<string, object> = { ...(config.ExposedPorts ?? {}) };
      for (const word of splitWords(args, bad)) {
        for (const p of expandPort(word, bad)) ports[p] = {};
      }
      return { ...config, ExposedPorts: ports };
    }
    case 'VOLUME': {
      const volumes: Record<string, object> = { ...(config.Volumes ?? {}) };
      const list = jsonArray(args) ?? splitWords(args, bad);
      for (const v of list) {
        if (v.trim() === '') throw bad('VOLUME path is empty');
        volumes[v] = {};
      }
      return { ...config, Volumes: volumes };
    }
    case 'USER':
      return { ...config, User: args };
    case 'WORKDIR': {
      const base = config.WorkingDir ?? '/';
      return { ...config, WorkingDir: posix.resolve(base, args) };
    }
    case 'STOPSIGNAL':
      return { ...config, StopSignal: checkSignal(args, bad) };
    case 'HEALTHCHECK':
      return { ...config, Healthcheck: healthcheck(args, bad) };
  }
  throw bad(`unknown instruction ${instruction}`);
}

/** JSON array form (exec form) when it parses as an array of strings, else shell form. */
function commandForm(args: string): string[] {
  return jsonArray(args) ?? ['/bin/sh', '-c', args];
}

function jsonArray(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // Docker falls back to the shell form when the JSON does not parse.
  }
  return undefined;
}

/** Splits on unquoted whitespace; "…" (with \ escapes) and '…' group, as Dockerfile words do. */
export function splitWords(s: string, bad: (why: string) => Error): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < s.length) cur += s[++i];
    else cur += c;
  }
  if (quote) throw bad(`unterminated ${quote} quote`);
  if (inWord) words.push(cur);
  return words;
}

function keyValues(
  args: string,
  what: string,
  bad: (why: string) => Error,
  legacyForm: boolean,
): [string, string][] {
  const first = /^(\S+)/.exec(args)?.[1] ?? '';
  if (!first.includes('=')) {
    // Legacy "ENV KEY value with spaces" form.
    const rest = args.slice(first.length).trim();
    if (!legacyForm && rest === '') throw bad(`${what} needs KEY=VALUE`);
    if (rest === '') throw bad(`${what} ${first} has no value (use ${first}=VALUE)`);
    return [[first, splitWords(rest, bad).join(' ')]];
  }
  return splitWords(args, bad).map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(`${what} "${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function expandPort(word: string, bad: (why: string) => Error): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
  if (!m?.[1]) throw bad(`EXPOSE "${word}" is not PORT[-PORT][/tcp|udp|sctp]`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (lo < 1 || hi > 65535 || hi < lo)
    throw bad(`EXPOSE "${word}": ports must be 1-65535, low-high`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

function checkSignal(s: string, bad: (why: string) => Error): string {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw bad(`STOPSIGNAL ${s} is not a signal number 1-64`);
    return s;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  if (/^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) return name;
  if (!(name in constants.signals)) throw bad(`STOPSIGNAL "${s}" is not a known signal`);
  return name;
}

/** `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD …`. */
function healthcheck(
  args: string,
  bad: (why: string) => Error,
): NonNullable<ImageConfig['Healthcheck']> {
  if (/^NONE$/i.test(args)) return { Test: ['NONE'] };
  const out: NonNullable<ImageConfig['Healthcheck']> = { Test: [] };
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!m?.[1] || m[2] === undefined) break;
    rest = rest.slice(m[0].length);
    const [flag, value] = [m[1], m[2]];
    if (flag === 'retries') {
      if (!/^\d+$/.test(value))
        throw bad(`HEALTHCHECK --retries=${value}: not a non-negative integer`);
      out.Retries = Number(value);
      continue;
    }
    const key = (
      {
        interval: 'Interval',
        timeout: 'Timeout',
        'start-period': 'StartPeriod',
        'start-interval': 'StartInterval',
      } as const
    )[flag as 'interval'];
    if (!key)
      throw bad(
        `HEALTHCHECK: unknown flag --${flag} (interval, timeout, start-period, start-interval, retries)`,
      );
    const ns = parseDurationNs(value);
    if (ns === undefined || ns < 0)
      throw bad(`HEALTHCHECK --${flag}=${value}: not a duration (e.g. 30s, 1m30s)`);
    out[key] = ns;
  }
  const cmd = /^CMD\s+([\s\S]+)$/i.exec(rest.trim());
  if (!cmd?.[1]) throw bad('HEALTHCHECK needs NONE or [options] CMD command');
  const exec = jsonArray(cmd[1]);
  out.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', cmd[1]];
  return out;
}
