import type { Node, Service } from '../../api/index.js';
import { humanDuration } from '../../display/human-units.js';
import { formatGoDuration as goDuration } from '../../api/index.js';

// `service inspect --pretty` and `node inspect --pretty`: docker's human-readable layout
// (label, colon, tab-aligned value; nested items indented by one space), one block per object.

/** go-units BytesSize: binary units, four significant digits ("64MiB", "1.953GiB"). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u] ?? 'B'}`;
}

const cpus = (nano: number): string => String(nano / 1e9);
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const ago = (iso: string | undefined): string =>
  iso === undefined ? '' : `${humanDuration(Math.max(0, Date.now() - Date.parse(iso)))} ago`;

class Lines {
  readonly out: string[] = [];
  add(line: string): this {
    this.out.push(line);
    return this;
  }
  /** `label:` and the value after tabs, only when there is a value. */
  field(indent: number, label: string, value: string | number | undefined, tabs = 1): this {
    if (value === undefined || value === '') return this;
    return this.add(`${' '.repeat(indent)}${label}:${'\t'.repeat(tabs)}${value}`);
  }
  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

export function prettyService(s: Service): string {
  const spec = s.Spec;
  const c = spec.TaskTemplate.ContainerSpec;
  const l = new Lines().add('');
  l.field(0, 'ID', s.ID, 2).field(0, 'Name', spec.Name, 2);
  const labels = Object.entries(spec.Labels ?? {});
  if (labels.length > 0) {
    l.add('Labels:');
    for (const [k, v] of labels) l.add(` ${k}=${v}`);
  }
  const mode = spec.Mode;
  if (mode.Global) l.add('Service Mode:\tGlobal');
  else if (mode.GlobalJob) l.add('Service Mode:\tGlobal Job');
  else if (mode.ReplicatedJob) {
    l.add('Service Mode:\tReplicated Job');
    l.field(1, 'Max Concurrent', mode.ReplicatedJob.MaxConcurrent);
    l.field(1, 'Total Completions', mode.ReplicatedJob.TotalCompletions);
  } else {
    l.add('Service Mode:\tReplicated').field(1, 'Replicas', mode.Replicated?.Replicas ?? 1);
  }
  if (s.UpdateStatus) {
    l.add('UpdateStatus:').field(1, 'State', s.UpdateStatus.State, 2);
    l.field(1, 'Started', ago(s.UpdateStatus.StartedAt));
    if (s.UpdateStatus.State === 'completed' || s.UpdateStatus.State === 'rollback_completed') {
      l.field(1, 'Completed', ago(s.UpdateStatus.CompletedAt));
    }
    l.field(1, 'Message', s.UpdateStatus.Message);
  }
  const placement = spec.TaskTemplate.Placement;
  l.add('Placement:');
  if ((placement?.Constraints ?? []).length > 0) {
    l.field(1, 'Constraints', `[${(placement?.Constraints ?? []).join(' ')}]`);
  }
  if ((placement?.Preferences ?? []).length > 0) {
    l.add(' Preferences:');
    for (const p of placement?.Preferences ?? []) l.add(`   Spread: ${p.Spread.SpreadDescriptor}`);
  }
  if (placement?.MaxReplicas) l.field(1, 'Max Replicas Per Node', placement.MaxReplicas);
  for (const [title, cfg, order] of [
    ['UpdateConfig', spec.UpdateConfig, 'Update order'],
    ['RollbackConfig', spec.RollbackConfig, 'Rollback order'],
  ] as const) {
    if (!cfg) continue;
    l.add(`${title}:`).field(1, 'Parallelism', cfg.Parallelism ?? 1);
    if (cfg.Delay) l.field(1, 'Delay', goDuration(cfg.Delay), 2);
    l.field(1, 'On failure', cfg.FailureAction ?? 'pause');
    l.add(` Monitoring Period: ${goDuration(cfg.Monitor ?? 5e9)}`);
    l.add(` Max failure ratio: ${cfg.MaxFailureRatio ?? 0}`);
    l.add(` ${order}:      ${cfg.Order ?? 'stop-first'}`);
  }
  l.add('ContainerSpec:').field(1, 'Image', c.Image, 2);
  if (c.Command?.length) l.field(1, 'Command', c.Command.join(' '));
  if (c.Args?.length) l.field(1, 'Args', c.Args.join(' '), 2);
  if (c.Env?.length) l.field(1, 'Env', c.Env.join(' '), 2);
  l.field(1, 'Dir', c.Dir, 2).field(1, 'User', c.User, 2);
  l.add(` Init:\t\t${c.Init === true}`);
  if (c.StopGracePeriod !== undefined)
    l.field(1, 'Stop grace period', goDuration(c.StopGracePeriod));
  if (c.Mounts?.length) {
    l.add('Mounts:');
    for (const m of c.Mounts) {
      l.field(1, 'Target', m.Target).field(2, 'Source', m.Source);
      l.add(`  ReadOnly:\t${m.ReadOnly === true}`).field(2, 'Type', m.Type, 2);
    }
  }
  const files = [
    ['Secrets', (c.Secrets ?? []).map((r) => [r.File.Name, r.SecretName] as const)],
    ['Configs', (c.Configs ?? []).map((r) => [r.File.Name, r.ConfigName] as const)],
  ] as const;
  for (const [title, refs] of files) {
    if (refs.length === 0) continue;
    l.add(`${title}:`);
    for (const [target, source] of refs) l.field(1, 'Target', target).field(2, 'Source', source);
  }
  const res = spec.TaskTemplate.Resources;
  l.add('Resources:');
  for (const [title, r] of [
    ['Reservations', res?.Reservations],
    ['Limits', res?.Limits],
  ] as const) {
    if (!r || (!r.NanoCPUs && !r.MemoryBytes && !('Pids' in r && r.Pids))) continue;
    l.add(` ${title}:`);
    if (r.NanoCPUs) l.field(2, 'CPU', cpus(r.NanoCPUs), 2);
    if (r.MemoryBytes) l.field(2, 'Memory', bytesSize(r.MemoryBytes));
    if ('Pids' in r && r.Pids) l.field(2, 'Pids', r.Pids, 2);
  }
  const nets = spec.TaskTemplate.Networks ?? [];
  if (nets.length > 0) l.add(`Networks: ${nets.map((n) => n.Target).join(' ')} `);
  l.field(0, 'Endpoint Mode', spec.EndpointSpec?.Mode ?? 'vip');
  const ports = s.Endpoint?.Ports ?? spec.EndpointSpec?.Ports ?? [];
  if (ports.length > 0) {
    l.add('Ports:');
    for (const p of ports) {
      l.add(` PublishedPort = ${p.PublishedPort ?? 0}`);
      l.add(`  Protocol = ${p.Protocol ?? 'tcp'}`);
      l.add(`  TargetPort = ${p.TargetPort}`);
      l.add(`  PublishMode = ${p.PublishMode ?? 'ingress'}`);
    }
  }
  if (c.Healthcheck?.Test?.length) {
    const h = c.Healthcheck;
    l.add('Healthcheck:').field(1, 'Test', JSON.stringify(h.Test), 2);
    if (h.Interval) l.field(1, 'Interval', goDuration(h.Interval));
    if (h.Timeout) l.field(1, 'Timeout', goDuration(h.Timeout));
    if (h.Retries) l.field(1, 'Retries', h.Retries);
  }
  return l.text();
}

export function prettyNode(n: Node): string {
  const l = new Lines().add('');
  l.field(0, 'ID', n.ID, 3);
  const labels = Object.entries(n.Spec.Labels);
  if (labels.length > 0) {
    l.add('Labels:');
    for (const [k, v] of labels) l.add(` - ${k} = ${v}`);
  }
  l.field(0, 'Hostname', n.Description.Hostname, 2);
  l.field(0, 'Joined at', n.CreatedAt, 2);
  l.add('Status:').field(1, 'State', cap(n.Status.State), 3);
  l.field(1, 'Availability', cap(n.Spec.Availability), 2);
  l.field(1, 'Address', n.Status.Addr, 2);
  if (n.Status.Message) l.field(1, 'Message', n.Status.Message, 2);
  if (n.ManagerStatus) {
    l.add('Manager Status:').field(1, 'Address', n.ManagerStatus.Addr, 2);
    l.field(1, 'Raft Status', cap(n.ManagerStatus.Reachability), 2);
    l.field(1, 'Leader', n.ManagerStatus.Leader ? 'Yes' : 'No', 3);
  }
  l.add('Platform:').field(1, 'Operating System', n.Description.Platform.OS);
  l.field(1, 'Architecture', n.Description.Platform.Architecture, 2);
  l.add('Resources:').field(1, 'CPUs', cpus(n.Description.Resources.NanoCPUs), 3);
  l.field(1, 'Memory', bytesSize(n.Description.Resources.MemoryBytes), 2);
  l.field(0, 'Engine Version', n.Description.Engine.EngineVersion, 2);
  const engine = Object.entries(n.Description.Engine.Labels);
  if (engine.length > 0) {
    l.add('Engine Labels:');
    for (const [k, v] of engine) l.add(` - ${k}=${v}`);
  }
  return l.text();
}
