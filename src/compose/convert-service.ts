import type {
  ConfigReference,
  ContainerSpec,
  SecretReference,
  ServiceSpec,
  TaskSpec,
  Ulimit,
} from '../api/index.js';
import { validateServiceSpec } from '../api/index.js';
import { unsupportedServiceKeys } from './checks.js';
import { endpointSpec } from './convert-ports.js';
import {
  honouredDeployKeys,
  mode,
  placement,
  resources,
  restartPolicy,
  updateConfig,
} from './convert-deploy.js';
import { healthcheck } from './convert-healthcheck.js';
import { mounts } from './convert-mounts.js';
import { networkAttachments } from './convert-networks.js';
import { fileRefs } from './convert-secrets-configs.js';
import { compact, ns, num, str, strList, strMap } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj, type Obj } from './normalize.js';

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

export function convertService(
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
