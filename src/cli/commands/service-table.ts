import { serviceModeKind, type Service, type Task } from '../../api/index.js';
import { humanDuration } from '../../display/human-units.js';
import { formatRows } from '../../display/list-format.js';
import { formatPorts } from './publish-flag.js';

/** An update under way or stopped half-way, after the replica count, as docker notes it. */
function updateNote(s: Service): string {
  switch (s.UpdateStatus?.State) {
    case 'updating':
      return ' (updating)';
    case 'paused':
      return ' (update paused)';
    case 'rollback_started':
      return ' (rolling back)';
    case 'rollback_paused':
      return ' (rollback paused)';
    default:
      return '';
  }
}

/** REPLICAS as docker prints it; jobs add how many completed out of how many. */
function replicas(s: Service): string {
  const st = s.ServiceStatus ?? { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 };
  const base = `${st.RunningTasks}/${st.DesiredTasks}`;
  const kind = serviceModeKind(s.Spec.Mode);
  if (kind === 'replicated-job') {
    const total =
      s.Spec.Mode.ReplicatedJob?.TotalCompletions ?? s.Spec.Mode.ReplicatedJob?.MaxConcurrent ?? 1;
    return `${base} (${st.CompletedTasks}/${total} completed)`;
  }
  if (kind === 'global-job') {
    return `${base} (${st.CompletedTasks}/${st.CompletedTasks + st.DesiredTasks} completed)`;
  }
  return `${base}${updateNote(s)}`;
}

export interface ServiceRow {
  ID: string;
  Name: string;
  Mode: string;
  Replicas: string;
  Image: string;
  Ports: string;
}

/** One row of `service ls`, with docker's field names; needs the service's ServiceStatus. */
export function serviceRows(services: Service[]): ServiceRow[] {
  return services.map((s) => ({
    ID: s.ID.slice(0, 12),
    Name: s.Spec.Name,
    Mode: serviceModeKind(s.Spec.Mode).replace('-', ' '),
    Replicas: replicas(s),
    Image: s.Spec.TaskTemplate.ContainerSpec.Image,
    Ports: formatPorts(s.Endpoint?.Ports),
  }));
}

/**
 * `service ls` and `stack services`: docker's columns, one JSON object per line with its
 * field names, or a Go template (src/api/list-format.ts). The services need their ServiceStatus (`/services?status=true`).
 */
export function printServices(services: Service[], format: string | undefined): void {
  process.stdout.write(
    formatRows(serviceRows(services), format, [
      { header: 'ID', field: 'ID' },
      { header: 'NAME', field: 'Name' },
      { header: 'MODE', field: 'Mode' },
      { header: 'REPLICAS', field: 'Replicas' },
      { header: 'IMAGE', field: 'Image' },
      { header: 'PORTS', field: 'Ports' },
    ]),
  );
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * `service ps` and `stack ps` rows, docker's field names: the newest task of each slot (or
 * node, for global services) first, older ones after it marked " \_ ".
 */
export function taskRows(
  service: Service,
  tasks: readonly Task[],
  hostnames: ReadonlyMap<string, string>,
  opts: { trunc: boolean; now: number },
): Record<string, string>[] {
  const key = (t: Task): string => (t.Slot > 0 ? `${t.Slot}`.padStart(8, '0') : t.NodeID);
  const sorted = [...tasks].sort((a, b) =>
    key(a) !== key(b) ? (key(a) < key(b) ? -1 : 1) : b.CreatedAt.localeCompare(a.CreatedAt),
  );
  // Host-mode ports are published by the task itself on its node, so docker lists them here.
  const hostPorts = formatPorts(service.Endpoint?.Ports?.filter((p) => p.PublishMode === 'host'));
  let prevKey = '';
  return sorted.map((t) => {
    const name = `${service.Spec.Name}.${t.Slot > 0 ? t.Slot : t.NodeID}`;
    const sameSlot = key(t) === prevKey;
    prevKey = key(t);
    const since = humanDuration(opts.now - Date.parse(t.Status.Timestamp)).toLowerCase();
    return {
      ID: opts.trunc ? t.ID.slice(0, 12) : t.ID,
      Name: sameSlot ? ` \\_ ${name}` : name,
      Image: t.Spec.ContainerSpec.Image,
      Node: hostnames.get(t.NodeID) ?? '',
      DesiredState: cap(t.DesiredState),
      CurrentState: `${cap(t.Status.State)} ${since} ago`,
      Error: t.Status.Err ? `"${t.Status.Err}"` : '',
      Ports: t.Status.State === 'running' ? hostPorts : '',
    };
  });
}

/** Prints task rows as `service ps` does (-q: the IDs only). */
export function printTasks(
  rows: readonly Record<string, string>[],
  opts: { quiet?: boolean; format?: string },
): void {
  if (opts.quiet) {
    process.stdout.write(rows.map((r) => `${r['ID']}\n`).join(''));
    return;
  }
  process.stdout.write(
    formatRows(rows, opts.format, [
      { header: 'ID', field: 'ID' },
      { header: 'NAME', field: 'Name' },
      { header: 'IMAGE', field: 'Image' },
      { header: 'NODE', field: 'Node' },
      { header: 'DESIRED STATE', field: 'DesiredState' },
      { header: 'CURRENT STATE', field: 'CurrentState' },
      { header: 'ERROR', field: 'Error' },
      { header: 'PORTS', field: 'Ports' },
    ]),
  );
}
