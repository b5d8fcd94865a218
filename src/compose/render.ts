import { stringify } from 'yaml';
import { isObj, type Obj } from './normalize.js';

// docker/cli prints fields in the order of its Go structs, not the order they were written.
const orders: Record<string, string[]> = {
  top: ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs'],
  service: [
    'build',
    'cap_add',
    'cap_drop',
    'cgroup_parent',
    'command',
    'configs',
    'container_name',
    'credential_spec',
    'depends_on',
    'deploy',
    'devices',
    'dns',
    'dns_search',
    'domainname',
    'entrypoint',
    'environment',
    'env_file',
    'expose',
    'external_links',
    'extra_hosts',
    'group_add',
    'hostname',
    'healthcheck',
    'image',
    'init',
    'ipc',
    'isolation',
    'labels',
    'links',
    'logging',
    'mac_address',
    'network_mode',
    'networks',
    'pid',
    'ports',
    'privileged',
    'read_only',
    'restart',
    'secrets',
    'security_opt',
    'shm_size',
    'stdin_open',
    'stop_grace_period',
    'stop_signal',
    'sysctls',
    'tmpfs',
    'tty',
    'ulimits',
    'user',
    'userns_mode',
    'volumes',
    'working_dir',
  ],
  deploy: [
    'mode',
    'replicas',
    'labels',
    'update_config',
    'rollback_config',
    'resources',
    'restart_policy',
    'placement',
    'endpoint_mode',
  ],
  update: ['parallelism', 'delay', 'failure_action', 'monitor', 'max_failure_ratio', 'order'],
  resources: ['limits', 'reservations'],
  resource: ['cpus', 'memory', 'pids', 'generic_resources', 'devices'],
  restart: ['condition', 'delay', 'max_attempts', 'window'],
  placement: ['constraints', 'preferences', 'max_replicas_per_node'],
  healthcheck: [
    'test',
    'timeout',
    'interval',
    'retries',
    'start_period',
    'start_interval',
    'disable',
  ],
  port: ['name', 'mode', 'host_ip', 'target', 'published', 'protocol', 'app_protocol'],
  volumeMount: [
    'type',
    'source',
    'target',
    'read_only',
    'consistency',
    'bind',
    'volume',
    'tmpfs',
    'image',
  ],
  fileRef: ['source', 'target', 'uid', 'gid', 'mode'],
  network: [
    'name',
    'driver',
    'driver_opts',
    'ipam',
    'external',
    'internal',
    'attachable',
    'labels',
  ],
  volume: ['name', 'driver', 'driver_opts', 'external', 'labels'],
  fileObj: ['name', 'file', 'external', 'labels', 'template_driver', 'content', 'environment'],
};

function ordered(o: Obj, order: readonly string[], sortRest = false): Obj {
  const out: Obj = {};
  for (const k of order) if (k in o) out[k] = o[k];
  const rest = Object.keys(o).filter((k) => !(k in out));
  const plain = rest.filter((k) => !k.startsWith('x-'));
  const ext = rest.filter((k) => k.startsWith('x-')).sort();
  for (const k of sortRest ? plain.sort() : plain) out[k] = o[k];
  for (const k of ext) out[k] = o[k];
  return out;
}

function sortedMap(v: unknown, each?: (x: unknown) => unknown): unknown {
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const k of Object.keys(v).sort()) out[k] = each ? each(v[k]) : v[k];
  return out;
}

const list = (v: unknown, each: (x: unknown) => unknown): unknown =>
  Array.isArray(v) ? v.map(each) : v;
const obj = (v: unknown, order: readonly string[]): unknown => (isObj(v) ? ordered(v, order) : v);

function renderService(svc: unknown): unknown {
  if (!isObj(svc)) return svc;
  const s = ordered(svc, orders['service'] ?? []);
  for (const k of ['environment', 'labels', 'sysctls', 'ulimits', 'networks', 'extra_hosts']) {
    if (isObj(s[k])) s[k] = sortedMap(s[k]);
  }
  if (isObj(s['deploy'])) {
    const d = ordered(s['deploy'], orders['deploy'] ?? []);
    if (isObj(d['labels'])) d['labels'] = sortedMap(d['labels']);
    d['update_config'] = obj(d['update_config'], orders['update'] ?? []);
    d['rollback_config'] = obj(d['rollback_config'], orders['update'] ?? []);
    d['restart_policy'] = obj(d['restart_policy'], orders['restart'] ?? []);
    d['placement'] = obj(d['placement'], orders['placement'] ?? []);
    if (isObj(d['resources'])) {
      const r = ordered(d['resources'], orders['resources'] ?? []);
      r['limits'] = obj(r['limits'], orders['resource'] ?? []);
      r['reservations'] = obj(r['reservations'], orders['resource'] ?? []);
      d['resources'] = r;
    }
    for (const k of Object.keys(d)) if (d[k] === undefined) delete d[k];
    s['deploy'] = d;
  }
  if (isObj(s['healthcheck']))
    s['healthcheck'] = ordered(s['healthcheck'], orders['healthcheck'] ?? []);
  s['ports'] = list(s['ports'], (p) => obj(p, orders['port'] ?? []));
  s['volumes'] = list(s['volumes'], (v) => obj(v, orders['volumeMount'] ?? []));
  s['secrets'] = list(s['secrets'], (v) => obj(v, orders['fileRef'] ?? []));
  s['configs'] = list(s['configs'], (v) => obj(v, orders['fileRef'] ?? []));
  for (const k of Object.keys(s)) if (s[k] === undefined) delete s[k];
  return s;
}

/** The merged, normalised configuration as `docker stack config` prints it. */
export function renderStackConfig(config: Obj): string {
  const version = config['version'];
  const top = ordered(
    { ...config, version: version === undefined || version === '3' ? '3.13' : version },
    orders['top'] ?? [],
  );
  const services = sortedMap(top['services'], renderService);
  if (services !== undefined) top['services'] = services;
  const kinds: [string, string][] = [
    ['networks', 'network'],
    ['volumes', 'volume'],
    ['secrets', 'fileObj'],
    ['configs', 'fileObj'],
  ];
  for (const [kind, order] of kinds) {
    if (!isObj(top[kind])) continue;
    top[kind] = sortedMap(top[kind], (v) => {
      if (!isObj(v)) return {};
      const o = ordered(v, orders[order] ?? [], true);
      for (const k of ['driver_opts', 'labels']) if (isObj(o[k])) o[k] = sortedMap(o[k]);
      return o;
    });
  }
  return stringify(top, { lineWidth: 0, aliasDuplicateObjects: false, nullStr: 'null' });
}
