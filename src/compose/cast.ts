import type { Diagnostic } from './diagnostic.js';
import { locate } from './locate.js';
import type { LocationIndex } from './source.js';

type Kind = 'int' | 'float' | 'bool';

// Fields that the schema lets be strings (so a variable can fill them) but that mean numbers or
// booleans: a string there is converted, and one that does not convert is an error.
const castRules: [string, Kind][] = [
  ['services.*.deploy.replicas', 'int'],
  ['services.*.deploy.update_config.parallelism', 'int'],
  ['services.*.deploy.update_config.max_failure_ratio', 'float'],
  ['services.*.deploy.rollback_config.parallelism', 'int'],
  ['services.*.deploy.rollback_config.max_failure_ratio', 'float'],
  ['services.*.deploy.restart_policy.max_attempts', 'int'],
  ['services.*.deploy.placement.max_replicas_per_node', 'int'],
  ['services.*.deploy.resources.limits.pids', 'int'],
  ['services.*.healthcheck.retries', 'int'],
  ['services.*.healthcheck.disable', 'bool'],
  ['services.*.configs.*.mode', 'int'],
  ['services.*.secrets.*.mode', 'int'],
  ['services.*.ports.*.target', 'int'],
  ['services.*.ulimits.*', 'int'],
  ['services.*.ulimits.*.soft', 'int'],
  ['services.*.ulimits.*.hard', 'int'],
  ['services.*.privileged', 'bool'],
  ['services.*.read_only', 'bool'],
  ['services.*.stdin_open', 'bool'],
  ['services.*.tty', 'bool'],
  ['services.*.init', 'bool'],
  ['services.*.volumes.*.read_only', 'bool'],
  ['services.*.volumes.*.volume.nocopy', 'bool'],
  ['networks.*.external', 'bool'],
  ['networks.*.internal', 'bool'],
  ['networks.*.attachable', 'bool'],
  ['volumes.*.external', 'bool'],
  ['secrets.*.external', 'bool'],
  ['configs.*.external', 'bool'],
];

const rulesBySegments = castRules.map(([p, k]) => ({ segments: p.split('.'), kind: k }));

const trueWords = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const falseWords = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function cast(value: string, kind: Kind, key: string): number | boolean | undefined {
  const s = value.trim();
  // File modes are octal to everyone who writes them as strings ("0440").
  if (kind === 'int' && key === 'mode' && /^0[0-7]+$/.test(s)) return parseInt(s, 8);
  if (kind === 'bool') return trueWords.has(s) ? true : falseWords.has(s) ? false : undefined;
  if (kind === 'int') return /^[-+]?\d+$/.test(s) ? parseInt(s, 10) : undefined;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? parseFloat(s) : undefined;
}

const kindName: Record<Kind, string> = { int: 'an integer', float: 'a number', bool: 'a boolean' };

/** Converts strings at typed paths in place; every failure becomes an error diagnostic. */
export function castTypes(data: unknown, locations: LocationIndex): Diagnostic[] {
  const diags: Diagnostic[] = [];
  for (const rule of rulesBySegments) walk(data, rule.segments, 0, [], rule.kind, locations, diags);
  return diags;
}

function walk(
  node: unknown,
  segments: string[],
  depth: number,
  path: string[],
  kind: Kind,
  locations: LocationIndex,
  diags: Diagnostic[],
): void {
  if (node === null || typeof node !== 'object') return;
  const seg = segments[depth] as string;
  const last = depth === segments.length - 1;
  const entries: [string, unknown][] = Array.isArray(node)
    ? node.map((v, i) => [String(i), v])
    : Object.entries(node);
  for (const [key, value] of entries) {
    if (seg !== '*' && seg !== key) continue;
    const childPath = [...path, key];
    if (!last) {
      walk(value, segments, depth + 1, childPath, kind, locations, diags);
      continue;
    }
    if (typeof value !== 'string') continue;
    const converted = cast(value, kind, key);
    if (converted === undefined) {
      const p = locate(locations, childPath);
      diags.push({
        severity: 'error',
        file: locations.file,
        line: p.line,
        column: p.column,
        path: childPath.join('.'),
        message: `must be ${kindName[kind]}, got ${JSON.stringify(value)}`,
      });
    } else {
      (node as Record<string, unknown>)[key] = converted;
    }
  }
}
