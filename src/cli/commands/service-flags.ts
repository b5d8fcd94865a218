// The flags of `service create` and `service update`, each parsed here once, with docker's
// messages (`invalid argument "V" for "--F" flag: why`).
import type { Command } from 'commander';
import {
  invalidArgument,
  isValidSpreadDescriptor,
  parseConstraint,
  parseFileRefFlag,
  type ConfigReference,
  type FailureAction,
  type FileTarget,
  type HealthConfig,
  type PlacementPreference,
  type ResourceLimits,
  type ResourceReservations,
  type RestartPolicy,
  type SecretReference,
  type ServiceSpec,
  type UpdateConfig,
  type UpdateOrder,
} from '../../api/index.js';
import { parseBytes, parseDurationNs } from '../../api/index.js';

/** commander's accumulator for a repeatable flag. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

export const flagError = (value: string, flag: string, why: string) =>
  invalidArgument(`invalid argument "${value}" for "--${flag}" flag: ${why}`);

export function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

// ---- values ---------------------------------------------------------------------------------

export function duration(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const ns = parseDurationNs(v);
  if (ns === undefined || ns < 0) throw flagError(v, flag, 'not a duration (e.g. 5s, 1m30s)');
  return ns;
}

export function int(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw flagError(v, flag, 'not a non-negative integer');
  return Number(v);
}

function cpus(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw flagError(v, flag, 'not a number of CPUs');
  return Math.round(n * 1e9);
}

function bytes(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = parseBytes(v);
  if (n === undefined) throw flagError(v, flag, 'not a size (e.g. 512m, 1g)');
  return n;
}

/** The key of `K=V` (or of a bare `K`). */
export const keyOf = (kv: string): string => {
  const i = kv.indexOf('=');
  return i < 0 ? kv : kv.slice(0, i);
};

/** `K=V` as a pair; a bare `K` has the value ''. */
export function keyValue(item: string, flag: string): [string, string] {
  const k = keyOf(item);
  if (k === '') throw flagError(item, flag, 'empty key');
  return [k, item.length > k.length ? item.slice(k.length + 1) : ''];
}

/** `--label`, `--container-label`: `K=V` items as a map. */
export function keyValues(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const [k, v] = keyValue(item, flag);
    out[k] = v;
  }
  return out;
}

// ---- placement and mode ---------------------------------------------------------------------

/** `--constraint`, `--constraint-add`: each must parse; the spec keeps them as written. */
export function checkConstraints(list: readonly string[], flag: string): void {
  for (const c of list) {
    const p = parseConstraint(c);
    if (!p.ok) throw flagError(c, flag, p.error);
  }
}

export function placementPreferences(list: readonly string[]): PlacementPreference[] {
  return list.map((p) => {
    const m = /^spread=(.+)$/.exec(p);
    if (!m?.[1] || !isValidSpreadDescriptor(m[1])) {
      throw flagError(
        p,
        'placement-pref',
        'expected spread=node.labels.<label> (or engine.labels.<label>)',
      );
    }
    return { Spread: { SpreadDescriptor: m[1] } };
  });
}

export function checkMode(mode: string): 'replicated' | 'global' {
  if (mode !== 'replicated' && mode !== 'global') {
    throw flagError(mode, 'mode', 'use replicated or global');
  }
  return mode;
}

/** `--replicas`, refused for a service that is not replicated. */
export function replicaCount(v: string | undefined, replicated: boolean): number | undefined {
  const replicas = int(v, 'replicas');
  if (!replicated && replicas !== undefined) {
    throw invalidArgument('replicas can only be used with replicated or replicated-job mode');
  }
  return replicas;
}

export function checkEndpointMode(mode: string | undefined): 'vip' | 'dnsrr' | undefined {
  if (mode !== undefined && mode !== 'vip' && mode !== 'dnsrr') {
    throw flagError(mode, 'endpoint-mode', 'use vip or dnsrr');
  }
  return mode;
}

// ---- resources and restart ------------------------------------------------------------------

export interface ResourceFlags {
  limitCpu?: string;
  limitMemory?: string;
  limitPids?: string;
  reserveCpu?: string;
  reserveMemory?: string;
}

/** `--limit-*`: only the limits the flags set. */
export function resourceLimits(f: ResourceFlags): ResourceLimits {
  return {
    ...opt('NanoCPUs', cpus(f.limitCpu, 'limit-cpu')),
    ...opt('MemoryBytes', bytes(f.limitMemory, 'limit-memory')),
    ...opt('Pids', int(f.limitPids, 'limit-pids')),
  };
}

/** `--reserve-*`: only the reservations the flags set. */
export function resourceReservations(f: ResourceFlags): ResourceReservations {
  return {
    ...opt('NanoCPUs', cpus(f.reserveCpu, 'reserve-cpu')),
    ...opt('MemoryBytes', bytes(f.reserveMemory, 'reserve-memory')),
  };
}

export interface RestartFlags {
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
}

/** `--restart-*`: only the fields the flags set. */
export function restartPolicy(f: RestartFlags): RestartPolicy {
  const condition = f.restartCondition;
  if (condition !== undefined && !['none', 'on-failure', 'any'].includes(condition)) {
    throw flagError(condition, 'restart-condition', 'use none, on-failure or any');
  }
  return {
    ...(condition !== undefined ? { Condition: condition as 'none' | 'on-failure' | 'any' } : {}),
    ...opt('Delay', duration(f.restartDelay, 'restart-delay')),
    ...opt('MaxAttempts', int(f.restartMaxAttempts, 'restart-max-attempts')),
    ...opt('Window', duration(f.restartWindow, 'restart-window')),
  };
}

// ---- secrets and configs --------------------------------------------------------------------

/** `--secret`, `--config` and their `-add`: the source name and the file it becomes. */
export function fileTarget(flag: '--secret' | '--config', value: string): [string, FileTarget] {
  const r = parseFileRefFlag(flag, value);
  return [r.source, { Name: r.target, UID: r.uid, GID: r.gid, Mode: r.mode }];
}

// Names only: the manager resolves them to ids and refuses a name it does not know.
export const secretReference = (source: string, File: FileTarget): SecretReference => ({
  File,
  SecretID: '',
  SecretName: source,
});

export const configReference = (source: string, File: FileTarget): ConfigReference => ({
  File,
  ConfigID: '',
  ConfigName: source,
});

// ---- health flags ---------------------------------------------------------------------------

export interface HealthFlags {
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthcheck?: boolean;
}

export function addHealthOptions(cmd: Command): Command {
  return cmd
    .option('--health-cmd <cmd>', 'command to run to check health (run with sh -c)')
    .option('--health-interval <d>', 'time between running the check (ms|s|m|h)')
    .option('--health-timeout <d>', 'maximum time to allow one check to run (ms|s|m|h)')
    .option('--health-retries <n>', 'consecutive failures needed to report unhealthy')
    .option('--health-start-period <d>', 'start period for the container to initialize')
    .option('--health-start-interval <d>', 'time between checks during the start period')
    .option('--no-healthcheck', 'disable any container-specified HEALTHCHECK');
}

/** Docker's `--health-*` over an existing check (update) or none (create). */
export function applyHealthFlags(
  current: HealthConfig | undefined,
  f: HealthFlags,
): HealthConfig | undefined {
  const any =
    f.healthCmd !== undefined ||
    f.healthInterval !== undefined ||
    f.healthTimeout !== undefined ||
    f.healthRetries !== undefined ||
    f.healthStartPeriod !== undefined ||
    f.healthStartInterval !== undefined;
  if (f.healthcheck === false) {
    if (any) throw invalidArgument('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return current;
  const h: HealthConfig = { ...(current?.Test?.[0] === 'NONE' ? {} : current) };
  if (f.healthCmd !== undefined) {
    h.Test = f.healthCmd === '' ? [] : ['CMD-SHELL', f.healthCmd];
  }
  const set = (k: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval', v?: string) => {
    const flag = `health-${k.replace(/[A-Z]/g, (c, i: number) => (i > 0 ? '-' : '') + c.toLowerCase())}`;
    const ns = duration(v, flag);
    if (ns === undefined) return;
    if (ns !== 0 && ns < 1_000_000) throw flagError(v ?? '', flag, 'must be 0 or at least 1ms');
    h[k] = ns;
  };
  set('Interval', f.healthInterval);
  set('Timeout', f.healthTimeout);
  set('StartPeriod', f.healthStartPeriod);
  set('StartInterval', f.healthStartInterval);
  const retries = int(f.healthRetries, 'health-retries');
  if (retries !== undefined) h.Retries = retries;
  return h;
}

// ---- update / rollback config flags ---------------------------------------------------------

export interface UpdateConfigFlags {
  updateParallelism?: string;
  updateDelay?: string;
  updateOrder?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  rollbackParallelism?: string;
  rollbackDelay?: string;
  rollbackOrder?: string;
  rollbackFailureAction?: string;
  rollbackMonitor?: string;
  rollbackMaxFailureRatio?: string;
}

export function addUpdateConfigOptions(cmd: Command): Command {
  for (const p of ['update', 'rollback'] as const) {
    const what = p === 'update' ? 'update' : 'rollback';
    const done = p === 'update' ? 'updated' : 'rolled back';
    cmd
      .option(`--${p}-parallelism <n>`, `maximum number of tasks ${done} at once (0 = all)`)
      .option(`--${p}-delay <d>`, `delay between ${what}s (ns|us|ms|s|m|h)`)
      .option(`--${p}-order <order>`, `${what} order: start-first or stop-first`)
      .option(
        `--${p}-failure-action <action>`,
        p === 'update'
          ? 'action on update failure: pause, continue or rollback'
          : 'action on rollback failure: pause or continue',
      )
      .option(`--${p}-monitor <d>`, `duration after each task ${what} to monitor for failure`)
      .option(
        `--${p}-max-failure-ratio <r>`,
        `failure rate to tolerate during ${p === 'update' ? 'an' : 'a'} ${what}`,
      );
  }
  return cmd;
}

function updateConfig(
  current: UpdateConfig | undefined,
  f: UpdateConfigFlags,
  p: 'update' | 'rollback',
): UpdateConfig | undefined {
  const v = (k: string): string | undefined =>
    (f as Record<string, string | undefined>)[`${p}${k}`];
  const out: UpdateConfig = { ...current };
  let touched = false;
  const parallelism = int(v('Parallelism'), `${p}-parallelism`);
  if (parallelism !== undefined) {
    out.Parallelism = parallelism;
    touched = true;
  }
  const delay = duration(v('Delay'), `${p}-delay`);
  if (delay !== undefined) {
    out.Delay = delay;
    touched = true;
  }
  const monitor = duration(v('Monitor'), `${p}-monitor`);
  if (monitor !== undefined) {
    out.Monitor = monitor;
    touched = true;
  }
  const order = v('Order');
  if (order !== undefined) {
    if (order !== 'start-first' && order !== 'stop-first') {
      throw flagError(order, `${p}-order`, 'use start-first or stop-first');
    }
    out.Order = order as UpdateOrder;
    touched = true;
  }
  const action = v('FailureAction');
  if (action !== undefined) {
    const allowed = p === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'];
    if (!allowed.includes(action)) {
      throw flagError(action, `${p}-failure-action`, `use ${allowed.join(', ')}`);
    }
    out.FailureAction = action as FailureAction;
    touched = true;
  }
  const ratio = v('MaxFailureRatio');
  if (ratio !== undefined) {
    const r = Number(ratio);
    if (ratio.trim() === '' || !Number.isFinite(r) || r < 0 || r > 1) {
      throw flagError(ratio, `${p}-max-failure-ratio`, 'a number between 0 and 1');
    }
    out.MaxFailureRatio = r;
    touched = true;
  }
  return touched ? out : current;
}

/** The `--update-*` and `--rollback-*` flags over a spec. */
export function applyUpdateConfigFlags(spec: ServiceSpec, f: UpdateConfigFlags): ServiceSpec {
  const u = updateConfig(spec.UpdateConfig, f, 'update');
  const r = updateConfig(spec.RollbackConfig, f, 'rollback');
  return { ...spec, ...(u ? { UpdateConfig: u } : {}), ...(r ? { RollbackConfig: r } : {}) };
}
