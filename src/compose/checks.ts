import type { Diagnostic } from './diagnostic.js';
import { joinPath } from './diagnostic.js';
import { isObj, type Obj } from './normalize.js';
import type { LocationIndex } from './source.js';
import { locate } from './locate.js';

/** Keys docker stack deploy ignores with a warning: a swarm service has no place for them. */
export const unsupportedServiceKeys = [
  'build',
  'cgroup_parent',
  'cgroupns_mode',
  'container_name',
  'devices',
  'domainname',
  'external_links',
  'ipc',
  'links',
  'mac_address',
  'network_mode',
  'pid',
  'privileged',
  'profiles',
  'restart',
  'security_opt',
  'shm_size',
  'userns_mode',
] as const;

/** Keys that change what runs in a way tsswarm cannot honour yet: refused, never dropped. */
export const refusedServiceKeys = [
  'extends',
  'volume_driver',
  'volumes_from',
  'develop',
  'post_start',
  'pre_stop',
  'provider',
  'models',
] as const;

/** Finds the file that wrote a path last (a later `-c` file overrides an earlier one). */
export function locateInFiles(
  files: readonly LocationIndex[],
  path: readonly (string | number)[],
  preferKey = false,
): Diagnostic {
  const key = joinPath(path);
  const owner =
    [...files].reverse().find((f) => f.key.has(key) || f.value.has(key)) ??
    [...files].reverse().find((f) => f.key.has(joinPath(path.slice(0, 2)))) ??
    files[0];
  const p = owner ? locate(owner, path, preferKey) : { line: 0, column: 0 };
  return {
    severity: 'error',
    file: owner?.file ?? '',
    line: p.line,
    column: p.column,
    path: key,
    message: '',
  };
}

export function checkMerged(
  merged: Obj,
  _files: readonly Obj[],
  locations: readonly LocationIndex[],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (
    severity: Diagnostic['severity'],
    path: string[],
    message: string,
    preferKey = true,
  ): void => {
    out.push({ ...locateInFiles(locations, path, preferKey), severity, message });
  };
  if (typeof merged['version'] === 'string' && /^[12](\.|$)/.test(merged['version'])) {
    at(
      'warning',
      ['version'],
      `compose file version ${merged['version']} is obsolete; the file is read as the compose specification`,
    );
  }
  if ('include' in merged)
    at(
      'error',
      ['include'],
      'include is not supported by tsswarm stacks yet; pass each file with -c',
    );
  const services = isObj(merged['services']) ? merged['services'] : {};
  const names = new Set(Object.keys(services));
  const graph = new Map<string, string[]>();
  for (const [name, svc] of Object.entries(services)) {
    if (!isObj(svc)) continue;
    const ignored = unsupportedServiceKeys.filter((k) => k in svc);
    if (ignored.length > 0) {
      at(
        'warning',
        ['services', name],
        `ignoring options a swarm service cannot honour: ${ignored.join(', ')}`,
      );
    }
    for (const k of refusedServiceKeys) {
      if (k in svc) at('error', ['services', name, k], `${k} is not supported by tsswarm stacks`);
    }
    const deps = dependencies(svc['depends_on']);
    for (const d of deps) {
      if (!names.has(d))
        at(
          'warning',
          ['services', name, 'depends_on'],
          `depends on undefined service ${JSON.stringify(d)}`,
        );
    }
    graph.set(
      name,
      deps.filter((d) => names.has(d)),
    );
  }
  const cycle = findCycle(graph);
  if (cycle) {
    at(
      'error',
      ['services', cycle[0] as string, 'depends_on'],
      `dependency cycle: ${cycle.join(' -> ')}`,
    );
  }
  return out;
}

export function dependencies(dependsOn: unknown): string[] {
  if (Array.isArray(dependsOn)) return dependsOn.map(String);
  if (isObj(dependsOn)) return Object.keys(dependsOn);
  return [];
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}
