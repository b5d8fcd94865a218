import { serviceModeKind, type Service } from '../../api/index.js';
import { formatTable } from '../../api/text-table.js';
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
 * `service ls` and `stack services`: docker's columns, or one JSON object per line with its
 * field names. The services need their ServiceStatus (`/services?status=true`).
 */
export function printServices(services: Service[], format: string | undefined): void {
  const rows = serviceRows(services);
  if (format === 'json') {
    process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return;
  }
  process.stdout.write(
    formatTable(
      ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
      rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports]),
    ),
  );
}
