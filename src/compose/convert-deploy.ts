// The `deploy` section of a service: mode, resources, restart, placement, update and rollback.
import type {
  ResourceRequirements,
  RestartPolicy,
  ServiceMode,
  TaskSpec,
  UpdateConfig,
} from '../api/index.js';
import { parseConstraint } from '../api/index.js';
import { compact, ns, num, str, strList } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj, type Obj } from './normalize.js';

export const honouredDeployKeys = new Set([
  'mode',
  'replicas',
  'labels',
  'placement',
  'resources',
  'restart_policy',
  'update_config',
  'rollback_config',
  'endpoint_mode',
]);

export function resources(
  c: Converter,
  path: string[],
  v: unknown,
): ResourceRequirements | undefined {
  if (!isObj(v)) return undefined;
  const part = (k: 'limits' | 'reservations') => {
    const o = isObj(v[k]) ? v[k] : undefined;
    if (!o) return undefined;
    for (const unsupported of ['generic_resources', 'devices']) {
      if (unsupported in o)
        c.fail([...path, k, unsupported], `${unsupported} are not supported by tsswarm yet`);
    }
    const cpus = str(o['cpus']);
    const memory = str(o['memory']);
    return compact({
      NanoCPUs: cpus === undefined ? undefined : Math.round(parseFloat(cpus) * 1e9),
      MemoryBytes: memory === undefined ? undefined : Number(memory),
      Pids: k === 'limits' ? num(o['pids']) : undefined,
    });
  };
  return compact({ Limits: part('limits'), Reservations: part('reservations') });
}

export function restartPolicy(v: unknown): RestartPolicy | undefined {
  if (!isObj(v)) return undefined;
  return compact({
    Condition: str(v['condition']) as RestartPolicy['Condition'],
    Delay: ns(v['delay']),
    MaxAttempts: num(v['max_attempts']),
    Window: ns(v['window']),
  });
}

export function placement(c: Converter, path: string[], v: unknown): TaskSpec['Placement'] {
  if (!isObj(v)) return undefined;
  const constraints = strList(v['constraints']);
  constraints?.forEach((expr, i) => {
    const p = parseConstraint(expr);
    if (!p.ok) c.fail([...path, 'constraints', i], p.error);
  });
  const prefs = Array.isArray(v['preferences']) ? v['preferences'] : undefined;
  return compact({
    Constraints: constraints,
    Preferences: prefs?.map((p) => ({
      Spread: { SpreadDescriptor: isObj(p) ? String(p['spread'] ?? '') : '' },
    })),
    MaxReplicas: num(v['max_replicas_per_node']),
  });
}

export function mode(c: Converter, path: string[], deploy: Obj): ServiceMode {
  const replicas = num(deploy['replicas']);
  switch (str(deploy['mode']) ?? 'replicated') {
    case 'global':
      if (replicas !== undefined)
        c.fail([...path, 'replicas'], 'replicas cannot be set on a global service');
      return { Global: {} };
    case 'global-job':
      if (replicas !== undefined)
        c.fail([...path, 'replicas'], 'replicas cannot be set on a global job');
      return { GlobalJob: {} };
    case 'replicated-job':
      return { ReplicatedJob: compact({ MaxConcurrent: replicas, TotalCompletions: replicas }) };
    case 'replicated':
      return { Replicated: { Replicas: replicas ?? 1 } };
    default:
      c.fail(
        [...path, 'mode'],
        `unknown mode ${JSON.stringify(deploy['mode'])}: replicated, global, replicated-job or global-job`,
      );
      return { Replicated: { Replicas: 1 } };
  }
}

export function updateConfig(v: unknown): UpdateConfig | undefined {
  if (!isObj(v)) return undefined;
  return compact({
    Parallelism: num(v['parallelism']),
    Delay: ns(v['delay']),
    FailureAction: str(v['failure_action']) as UpdateConfig['FailureAction'],
    Monitor: ns(v['monitor']),
    MaxFailureRatio: num(v['max_failure_ratio']),
    Order: str(v['order']) as UpdateConfig['Order'],
  });
}
