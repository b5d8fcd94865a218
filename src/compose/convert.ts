import type {
  ConfigReference,
  ContainerSpec,
  Driver,
  HealthConfig,
  Labels,
  Mount,
  NetworkAttachmentConfig,
  NetworkSpec,
  PortConfig,
  ResourceRequirements,
  RestartPolicy,
  SecretReference,
  ServiceMode,
  ServiceSpec,
  TaskSpec,
  Ulimit,
  UpdateConfig,
} from '../api/index.js';
import { parseConstraint, validateServiceSpec } from '../api/index.js';
import { dependencies, locateInFiles, unsupportedServiceKeys } from './checks.js';
import type { Diagnostic } from './diagnostic.js';
import type { ComposeConfig } from './load.js';
import { isObj, type Obj } from './normalize.js';
import type { LocationIndex } from './source.js';
import { parseDurationNs } from './units.js';

export const stackNamespaceLabel = 'com.docker.stack.namespace';

export interface StackNetwork {
  /** Key in the compose file (`default` for the implicit one). */
  key: string;
  external: boolean;
  spec: NetworkSpec;
}

export interface StackVolume {
  key: string;
  name: string;
  external: boolean;
  driver?: Driver;
  labels?: Labels;
}

/** Where a secret's or config's bytes come from; the deployer reads them. */
export type StackObjectSource = { file: string } | { environment: string } | { content: string };

export interface StackFileObject {
  key: string;
  name: string;
  external: boolean;
  labels?: Labels;
  /** Absent for external objects. */
  source?: StackObjectSource;
  templating?: Driver;
}

export type DependsOnCondition =
  'service_started' | 'service_healthy' | 'service_completed_successfully';

/** `service` waits for `dependsOn` (both compose keys, not service names) to reach `condition`. */
export interface DependsOnEdge {
  service: string;
  dependsOn: string;
  condition: DependsOnCondition;
  required: boolean;
  restart: boolean;
}

export interface Stack {
  name: string;
  services: ServiceSpec[];
  networks: StackNetwork[];
  volumes: StackVolume[];
  secrets: StackFileObject[];
  configs: StackFileObject[];
  dependsOn: DependsOnEdge[];
  warnings: Diagnostic[];
}

export type ConvertResult = { ok: true; stack: Stack } | { ok: false; diagnostics: Diagnostic[] };

// Keys each service may carry and the conversion honours (or, for docker's ignored keys,
// reports as warnings while loading); any other key is refused so that nothing is dropped silently.
const honouredServiceKeys = new Set([
  'image',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'working_dir',
  'user',
  'hostname',
  'labels',
  'init',
  'read_only',
  'stop_grace_period',
  'stop_signal',
  'cap_add',
  'cap_drop',
  'sysctls',
  'ulimits',
  'healthcheck',
  'ports',
  'networks',
  'volumes',
  'secrets',
  'configs',
  'logging',
  'deploy',
  'depends_on',
  'tty',
  'stdin_open',
  'dns',
  'dns_search',
  'dns_opt',
  'extra_hosts',
  'group_add',
  'tmpfs',
  'expose',
  ...unsupportedServiceKeys,
]);
const honouredDeployKeys = new Set([
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
const stackNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const strList = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : undefined;
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isObj(v))
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
};
const ns = (v: unknown): number | undefined =>
  typeof v === 'string' ? parseDurationNs(v) : undefined;

/** `T` with every key that may be undefined made optional instead. */
type Compact<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Removes keys whose value is undefined, for `exactOptionalPropertyTypes`. */
function compact<T extends object>(o: T): Compact<T> {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o as Compact<T>;
}

class Converter {
  readonly errors: Diagnostic[] = [];
  constructor(
    readonly stack: string,
    readonly config: ComposeConfig,
    readonly locations: readonly LocationIndex[],
  ) {}

  fail(path: (string | number)[], message: string): void {
    this.errors.push({ ...locateInFiles(this.locations, path, true), severity: 'error', message });
  }

  section(kind: string): Obj {
    const v = this.config[kind];
    return isObj(v) ? v : {};
  }

  resolvedName(kind: string, key: string): string | undefined {
    const def = this.section(kind)[key];
    if (!isObj(def)) return undefined;
    if (typeof def['name'] === 'string') return def['name'];
    return `${this.stack}_${key}`;
  }

  labels(extra: unknown): Labels {
    return { ...strMap(extra), [stackNamespaceLabel]: this.stack };
  }
}

/**
 * Converts a loaded compose configuration into the objects a stack deploy creates: services
 * named `<stack>_<service>`, networks (with `<stack>_default` when a service uses it), volumes,
 * secrets, configs, and the depends_on graph. What a swarm cannot honour is an error.
 */
export function convertStack(
  stack: string,
  config: ComposeConfig,
  locations: readonly LocationIndex[] = [],
  warnings: readonly Diagnostic[] = [],
): ConvertResult {
  const c = new Converter(stack, config, locations);
  if (!stackNamePattern.test(stack)) {
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          file: '',
          line: 0,
          column: 0,
          path: '',
          message: `invalid stack name ${JSON.stringify(stack)}`,
        },
      ],
    };
  }
  const services: ServiceSpec[] = [];
  const dependsOn: DependsOnEdge[] = [];
  let usesDefaultNetwork = false;
  for (const [name, raw] of Object.entries(c.section('services')).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const svc = isObj(raw) ? raw : {};
    const r = convertService(c, name, svc);
    if (r.usesDefault) usesDefaultNetwork = true;
    if (r.spec) services.push(r.spec);
    dependsOn.push(...dependsOnEdges(c, name, svc));
  }
  const networks = convertNetworks(c, usesDefaultNetwork);
  const volumes = convertVolumes(c);
  const secrets = convertFileObjects(c, 'secrets');
  const configs = convertFileObjects(c, 'configs');
  if (c.errors.length > 0) return { ok: false, diagnostics: c.errors };
  return {
    ok: true,
    stack: {
      name: stack,
      services,
      networks,
      volumes,
      secrets,
      configs,
      dependsOn,
      warnings: [...warnings],
    },
  };
}

function dependsOnEdges(c: Converter, name: string, svc: Obj): DependsOnEdge[] {
  const raw = svc['depends_on'];
  const known = c.section('services');
  const out: DependsOnEdge[] = [];
  for (const dep of dependencies(raw)) {
    const long = isObj(raw) && isObj(raw[dep]) ? raw[dep] : {};
    const condition = (str(long['condition']) ?? 'service_started') as DependsOnCondition;
    const required = long['required'] !== false;
    if (!(dep in known)) {
      if (required)
        c.fail(
          ['services', name, 'depends_on'],
          `depends on undefined service ${JSON.stringify(dep)}`,
        );
      continue;
    }
    out.push({
      service: name,
      dependsOn: dep,
      condition,
      required,
      restart: long['restart'] === true,
    });
  }
  return out;
}

function convertService(
  c: Converter,
  name: string,
  svc: Obj,
): { spec?: ServiceSpec; usesDefault: boolean } {
  const path = ['services', name];
  const errorsBefore = c.errors.length;
  for (const key of Object.keys(svc)) {
    if (!key.startsWith('x-') && !honouredServiceKeys.has(key)) {
      c.fail([...path, key], `${key} is not supported by tsswarm services`);
    }
  }
  const image = str(svc['image']);
  if (image === undefined || image === '') c.fail(path, 'no image specified');
  const deploy = isObj(svc['deploy']) ? svc['deploy'] : {};
  for (const key of Object.keys(deploy)) {
    if (!key.startsWith('x-') && !honouredDeployKeys.has(key))
      c.fail([...path, 'deploy', key], `deploy.${key} is not supported by tsswarm services`);
  }

  const env = isObj(svc['environment']) ? svc['environment'] : {};
  const container: ContainerSpec = compact({
    Image: image ?? '',
    Labels: c.labels(svc['labels']),
    Command: strList(svc['entrypoint']),
    Args: strList(svc['command']),
    Hostname: str(svc['hostname']),
    Env: Object.keys(env)
      .sort()
      .filter((k) => env[k] !== null && env[k] !== undefined)
      .map((k) => `${k}=${String(env[k])}`),
    Dir: str(svc['working_dir']),
    User: str(svc['user']),
    Groups: strList(svc['group_add']),
    TTY: svc['tty'] === true ? true : undefined,
    OpenStdin: svc['stdin_open'] === true ? true : undefined,
    ReadOnly: svc['read_only'] === true ? true : undefined,
    Init: typeof svc['init'] === 'boolean' ? svc['init'] : undefined,
    StopSignal: str(svc['stop_signal']),
    StopGracePeriod: ns(svc['stop_grace_period']),
    Healthcheck: healthcheck(svc['healthcheck']),
    Hosts: extraHosts(svc['extra_hosts']),
    DNSConfig: dnsConfig(svc),
    Sysctls: isObj(svc['sysctls']) ? strMap(svc['sysctls']) : undefined,
    CapabilityAdd: strList(svc['cap_add']),
    CapabilityDrop: strList(svc['cap_drop']),
    Ulimits: ulimits(svc['ulimits']),
    Mounts: mounts(c, path, svc),
    Secrets: fileRefs(c, path, svc, 'secrets') as SecretReference[] | undefined,
    Configs: fileRefs(c, path, svc, 'configs') as ConfigReference[] | undefined,
  });
  const { attachments, usesDefault } = networkAttachments(c, path, svc, name);
  const task: TaskSpec = compact({
    ContainerSpec: container,
    Resources: resources(c, [...path, 'deploy', 'resources'], deploy['resources']),
    RestartPolicy: restartPolicy(deploy['restart_policy']),
    Placement: placement(c, [...path, 'deploy', 'placement'], deploy['placement']),
    Networks: attachments,
    LogDriver:
      isObj(svc['logging']) && typeof svc['logging']['driver'] === 'string'
        ? compact({
            Name: svc['logging']['driver'],
            Options: isObj(svc['logging']['options'])
              ? strMap(svc['logging']['options'])
              : undefined,
          })
        : undefined,
  });
  const spec: ServiceSpec = compact({
    Name: `${c.stack}_${name}`,
    Labels: c.labels(deploy['labels']),
    TaskTemplate: task,
    Mode: mode(c, [...path, 'deploy'], deploy),
    UpdateConfig: updateConfig(deploy['update_config']),
    RollbackConfig: updateConfig(deploy['rollback_config']),
    EndpointSpec: endpointSpec(c, [...path, 'ports'], svc['ports'], str(deploy['endpoint_mode'])),
  });
  // The shared spec validation catches what slipped past the compose checks; reporting it on top
  // of a compose error would only say the same thing twice.
  if (c.errors.length === errorsBefore) {
    for (const e of validateServiceSpec(spec)) c.fail(path, `${e.field}: ${e.message}`);
  }
  return { spec, usesDefault };
}

function healthcheck(v: unknown): HealthConfig | undefined {
  if (!isObj(v)) return undefined;
  if (v['disable'] === true) return { Test: ['NONE'] };
  return compact({
    Test: strList(v['test']),
    Interval: ns(v['interval']),
    Timeout: ns(v['timeout']),
    Retries: num(v['retries']),
    StartPeriod: ns(v['start_period']),
    StartInterval: ns(v['start_interval']),
  });
}

// Compose writes `host:ip`, the engine's hosts file wants `ip host`.
function extraHosts(v: unknown): string[] | undefined {
  const entries = isObj(v) ? Object.entries(v).map(([h, ip]) => `${h}:${String(ip)}`) : strList(v);
  return entries?.map((e) => {
    const at = e.indexOf(':');
    return at < 0 ? e : `${e.slice(at + 1)} ${e.slice(0, at)}`;
  });
}

function dnsConfig(svc: Obj): ContainerSpec['DNSConfig'] {
  const cfg = compact({
    Nameservers: strList(svc['dns']),
    Search: strList(svc['dns_search']),
    Options: strList(svc['dns_opt']),
  });
  return Object.keys(cfg).length > 0 ? cfg : undefined;
}

function ulimits(v: unknown): Ulimit[] | undefined {
  if (!isObj(v)) return undefined;
  return Object.keys(v)
    .sort()
    .map((Name) => {
      const u = v[Name];
      if (typeof u === 'number') return { Name, Soft: u, Hard: u };
      const o = isObj(u) ? u : {};
      return { Name, Soft: num(o['soft']) ?? 0, Hard: num(o['hard']) ?? 0 };
    });
}

function mounts(c: Converter, path: string[], svc: Obj): Mount[] | undefined {
  const out: Mount[] = [];
  const volumes = Array.isArray(svc['volumes']) ? svc['volumes'] : [];
  volumes.forEach((raw, i) => {
    const v = isObj(raw) ? raw : {};
    const at = [...path, 'volumes', i];
    const target = str(v['target']) ?? '';
    if (!target.startsWith('/')) {
      c.fail(at, `mount target ${JSON.stringify(target)} must be an absolute path`);
      return;
    }
    const readOnly = v['read_only'] === true ? true : undefined;
    const type = str(v['type']);
    if (type === 'bind') {
      const bind = isObj(v['bind']) ? v['bind'] : {};
      const propagation = str(bind['propagation']) as NonNullable<
        Mount['BindOptions']
      >['Propagation'];
      if (bind['selinux'] !== undefined || bind['create_host_path'] !== undefined) {
        c.fail([...at, 'bind'], 'bind options other than propagation are not supported by tsswarm');
      }
      out.push(
        compact({
          Type: 'bind' as const,
          Source: str(v['source']),
          Target: target,
          ReadOnly: readOnly,
          BindOptions: propagation ? { Propagation: propagation } : undefined,
        }),
      );
    } else if (type === 'volume') {
      const source = str(v['source']);
      let name: string | undefined;
      if (source !== undefined) {
        name = c.resolvedName('volumes', source);
        if (name === undefined)
          c.fail(
            at,
            `service uses undefined volume ${JSON.stringify(source)}: declare it under the top-level volumes`,
          );
      }
      const vol = isObj(v['volume']) ? v['volume'] : {};
      out.push(
        compact({
          Type: 'volume' as const,
          Source: name,
          Target: target,
          ReadOnly: readOnly,
          VolumeOptions: vol['nocopy'] === true ? { NoCopy: true } : undefined,
        }),
      );
    } else if (type === 'tmpfs') {
      const t = isObj(v['tmpfs']) ? v['tmpfs'] : {};
      const size = typeof t['size'] === 'number' ? t['size'] : undefined;
      out.push(
        compact({
          Type: 'tmpfs' as const,
          Target: target,
          ReadOnly: readOnly,
          TmpfsOptions: compact({ SizeBytes: size, Mode: num(t['mode']) }),
        }),
      );
    } else {
      c.fail(
        [...at, 'type'],
        `mount type ${JSON.stringify(type)} is not supported by tsswarm (bind, volume and tmpfs are)`,
      );
    }
  });
  for (const t of strList(svc['tmpfs']) ?? [])
    out.push({ Type: 'tmpfs', Target: t.split(':')[0] ?? t });
  return out.length > 0 ? out : undefined;
}

function fileRefs(
  c: Converter,
  path: string[],
  svc: Obj,
  kind: 'secrets' | 'configs',
): (SecretReference | ConfigReference)[] | undefined {
  const list = Array.isArray(svc[kind]) ? svc[kind] : undefined;
  if (!list) return undefined;
  const out: (SecretReference | ConfigReference)[] = [];
  list.forEach((raw, i) => {
    const r = isObj(raw) ? raw : {};
    const source = str(r['source']) ?? '';
    const name = c.resolvedName(kind, source);
    if (name === undefined) {
      c.fail(
        [...path, kind, i],
        `service uses undefined ${kind.slice(0, -1)} ${JSON.stringify(source)}: declare it under the top-level ${kind}`,
      );
      return;
    }
    const file = {
      Name: str(r['target']) ?? (kind === 'configs' ? `/${source}` : source),
      UID: r['uid'] === undefined ? '0' : String(r['uid']),
      GID: r['gid'] === undefined ? '0' : String(r['gid']),
      Mode: num(r['mode']) ?? 0o444,
    };
    out.push(
      kind === 'secrets'
        ? { File: file, SecretID: '', SecretName: name }
        : { File: file, ConfigID: '', ConfigName: name },
    );
  });
  return out;
}

function networkAttachments(
  c: Converter,
  path: string[],
  svc: Obj,
  service: string,
): { attachments: NetworkAttachmentConfig[]; usesDefault: boolean } {
  const nets = isObj(svc['networks']) ? svc['networks'] : { default: null };
  let usesDefault = false;
  const attachments: NetworkAttachmentConfig[] = [];
  for (const [key, raw] of Object.entries(nets)) {
    const opts = isObj(raw) ? raw : {};
    let target: string | undefined;
    if (key === 'default' && !('default' in c.section('networks'))) {
      usesDefault = true;
      target = `${c.stack}_default`;
    } else {
      target = c.resolvedName('networks', key);
    }
    if (target === undefined) {
      c.fail(
        [...path, 'networks', key],
        `service uses undefined network ${JSON.stringify(key)}: declare it under the top-level networks`,
      );
      continue;
    }
    for (const k of [
      'ipv4_address',
      'ipv6_address',
      'link_local_ips',
      'mac_address',
      'priority',
      'gw_priority',
    ]) {
      if (k in opts)
        c.fail(
          [...path, 'networks', key, k],
          `${k} is not supported on swarm networks (the allocator assigns addresses)`,
        );
    }
    attachments.push(
      compact({
        Target: target,
        Aliases: [service, ...(strList(opts['aliases']) ?? [])],
        DriverOpts: isObj(opts['driver_opts']) ? strMap(opts['driver_opts']) : undefined,
      }),
    );
  }
  return { attachments, usesDefault };
}

function resources(c: Converter, path: string[], v: unknown): ResourceRequirements | undefined {
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

function restartPolicy(v: unknown): RestartPolicy | undefined {
  if (!isObj(v)) return undefined;
  return compact({
    Condition: str(v['condition']) as RestartPolicy['Condition'],
    Delay: ns(v['delay']),
    MaxAttempts: num(v['max_attempts']),
    Window: ns(v['window']),
  });
}

function placement(c: Converter, path: string[], v: unknown): TaskSpec['Placement'] {
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

function mode(c: Converter, path: string[], deploy: Obj): ServiceMode {
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

function updateConfig(v: unknown): UpdateConfig | undefined {
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

function endpointSpec(
  c: Converter,
  path: string[],
  ports: unknown,
  endpointMode: string | undefined,
): ServiceSpec['EndpointSpec'] {
  const list = Array.isArray(ports) ? ports : [];
  const out: PortConfig[] = [];
  list.forEach((raw, i) => {
    const p = isObj(raw) ? raw : {};
    if (str(p['host_ip']))
      c.fail(
        [...path, i, 'host_ip'],
        'a swarm publishes ports on every address; host_ip cannot be honoured',
      );
    const published = p['published'];
    if (typeof published === 'string') {
      c.fail(
        [...path, i, 'published'],
        `published port ranges are not supported in long syntax, got ${JSON.stringify(published)}`,
      );
      return;
    }
    out.push(
      compact({
        Name: str(p['name']),
        Protocol: (str(p['protocol']) ?? 'tcp') as PortConfig['Protocol'],
        TargetPort: num(p['target']) ?? 0,
        PublishedPort: num(published),
        PublishMode: (str(p['mode']) ?? 'ingress') as PortConfig['PublishMode'],
      }),
    );
  });
  if (out.length === 0 && endpointMode === undefined) return undefined;
  return compact({
    Mode: endpointMode as 'vip' | 'dnsrr' | undefined,
    Ports: out.length > 0 ? out : undefined,
  });
}

function convertNetworks(c: Converter, usesDefault: boolean): StackNetwork[] {
  const out: StackNetwork[] = [];
  const defs = c.section('networks');
  if (usesDefault) {
    out.push({
      key: 'default',
      external: false,
      spec: {
        Name: `${c.stack}_default`,
        Labels: c.labels({}),
        DriverConfiguration: { Name: 'overlay' },
        Scope: 'swarm',
      },
    });
  }
  for (const [key, raw] of Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))) {
    const n = isObj(raw) ? raw : {};
    const name = c.resolvedName('networks', key) ?? key;
    const external = n['external'] === true;
    const driver = str(n['driver']) ?? 'overlay';
    if (!external && driver !== 'overlay') {
      c.fail(
        ['networks', key, 'driver'],
        `network driver ${JSON.stringify(driver)} is not supported by tsswarm stacks (only overlay)`,
      );
    }
    const ipam = isObj(n['ipam']) ? n['ipam'] : undefined;
    out.push({
      key,
      external,
      spec: compact({
        Name: name,
        Labels: c.labels(n['labels']),
        DriverConfiguration: compact({
          Name: driver,
          Options: isObj(n['driver_opts']) ? strMap(n['driver_opts']) : undefined,
        }),
        Internal: n['internal'] === true ? true : undefined,
        Attachable: n['attachable'] === true ? true : undefined,
        IPv6Enabled: n['enable_ipv6'] === true ? true : undefined,
        IPAMOptions: ipam
          ? compact({
              Driver: typeof ipam['driver'] === 'string' ? { Name: ipam['driver'] } : undefined,
              Configs: Array.isArray(ipam['config'])
                ? ipam['config'].map((x) => {
                    const o = isObj(x) ? x : {};
                    return compact({
                      Subnet: str(o['subnet']),
                      Range: str(o['ip_range']),
                      Gateway: str(o['gateway']),
                    });
                  })
                : undefined,
            })
          : undefined,
        Scope: 'swarm' as const,
      }),
    });
  }
  return out;
}

function convertVolumes(c: Converter): StackVolume[] {
  return Object.entries(c.section('volumes'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, raw]) => {
      const v = isObj(raw) ? raw : {};
      const driver = str(v['driver']);
      return compact({
        key,
        name: c.resolvedName('volumes', key) ?? key,
        external: v['external'] === true,
        driver:
          driver === undefined
            ? undefined
            : compact({
                Name: driver,
                Options: isObj(v['driver_opts']) ? strMap(v['driver_opts']) : undefined,
              }),
        labels: v['external'] === true ? undefined : c.labels(v['labels']),
      });
    });
}

function convertFileObjects(c: Converter, kind: 'secrets' | 'configs'): StackFileObject[] {
  const out: StackFileObject[] = [];
  for (const [key, raw] of Object.entries(c.section(kind)).sort(([a], [b]) => a.localeCompare(b))) {
    const v = isObj(raw) ? raw : {};
    const external = v['external'] === true;
    const name = c.resolvedName(kind, key) ?? key;
    if (external) {
      out.push({ key, name, external });
      continue;
    }
    let source: StackObjectSource | undefined;
    if (typeof v['file'] === 'string') source = { file: v['file'] };
    else if (typeof v['environment'] === 'string') source = { environment: v['environment'] };
    else if (typeof v['content'] === 'string') source = { content: v['content'] };
    if (!source) {
      c.fail(
        [kind, key],
        `${kind.slice(0, -1)} needs file, environment${kind === 'configs' ? ', content' : ''} or external: true`,
      );
      continue;
    }
    if ('driver' in v)
      c.fail([kind, key, 'driver'], `${kind.slice(0, -1)} drivers are not supported by tsswarm`);
    const templating = str(v['template_driver']);
    out.push(
      compact({
        key,
        name,
        external,
        labels: c.labels(v['labels']),
        source,
        templating: templating ? { Name: templating } : undefined,
      }),
    );
  }
  return out;
}
