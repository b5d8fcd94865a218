import type { Command } from 'commander';
import type { Service, ServiceSpec, Task } from '../../api/index.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';
import { humanDuration } from '../../api/human-units.js';
import { formatTable } from '../../api/text-table.js';

const namespaceLabel = 'com.docker.stack.namespace';
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

/** Same value → same text, whatever the key order, so a redeploy sees only real changes. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

async function stackServices(api: ApiClient, name: string): Promise<Service[]> {
  const all = await api.get<Service[]>('/services?status=true');
  return all
    .filter((s) => s.Spec.Labels?.[namespaceLabel] === name)
    .sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
}

/**
 * `stack deploy|ls|services|ps|rm` over the control API, added to the `stack` command that
 * stack.ts registers (`stack config` stays there). Deploy loads and converts with src/compose
 * and touches only services whose spec changed.
 */
export function registerStackDeployCommands(program: Command): void {
  const stack =
    program.commands.find((c) => c.name() === 'stack') ??
    program.command('stack').description('Manage stacks');

  stack
    .command('deploy')
    .description('Deploy a new stack or update an existing stack')
    .argument('<stack>')
    .requiredOption('-c, --compose-file <file>', 'compose file (repeat to merge)', collect, [])
    .option('--prune', 'remove services that are no longer referenced')
    .action(
      async (name: string, opts: { composeFile: string[]; prune?: boolean }, cmd: Command) => {
        const { loadCompose, convertStack, formatDiagnostic } =
          await import('../../compose/index.js');
        const { invalidArgument } = await import('../../api/errors.js');
        const loaded = loadCompose({ files: opts.composeFile });
        const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
        if (loaded.config === undefined || errors.length > 0) {
          throw invalidArgument(errors.map(formatDiagnostic).join('\n'));
        }
        const converted = convertStack(name, loaded.config, loaded.locations, loaded.diagnostics);
        if (!converted.ok) {
          throw invalidArgument(converted.diagnostics.map(formatDiagnostic).join('\n'));
        }
        for (const w of converted.stack.warnings) {
          process.stderr.write(`WARNING: ${formatDiagnostic(w)}\n`);
        }
        const api = client(cmd);
        const existing = new Map((await stackServices(api, name)).map((s) => [s.Spec.Name, s]));
        const wanted = converted.stack.services.map((spec): ServiceSpec => {
          // Overlay networks are not wired into tasks yet: attach nothing rather than fail.
          const { Networks: _networks, ...template } = spec.TaskTemplate;
          return { ...spec, TaskTemplate: template };
        });
        if (converted.stack.services.some((s) => (s.TaskTemplate.Networks ?? []).length > 0)) {
          process.stderr.write(
            'WARNING: networks are not created yet; services run without them\n',
          );
        }
        for (const spec of wanted) {
          const current = existing.get(spec.Name);
          if (!current) {
            process.stdout.write(`Creating service ${spec.Name}\n`);
            await api.post('/services/create', spec);
          } else if (canonical(current.Spec) !== canonical(spec)) {
            process.stdout.write(`Updating service ${spec.Name} (id: ${current.ID})\n`);
            await api.post(`/services/${current.ID}/update?version=${current.Version.Index}`, spec);
          }
        }
        if (opts.prune) {
          const keep = new Set(wanted.map((s) => s.Name));
          for (const s of existing.values()) {
            if (keep.has(s.Spec.Name)) continue;
            process.stdout.write(`Removing service ${s.Spec.Name}\n`);
            await api.delete(`/services/${s.ID}`);
          }
        }
      },
    );

  stack
    .command('ls')
    .alias('list')
    .description('List stacks')
    .option('--format <format>', 'json, or table')
    .action(async (opts: { format?: string }, cmd: Command) => {
      const all = await client(cmd).get<Service[]>('/services');
      const counts = new Map<string, number>();
      for (const s of all) {
        const ns = s.Spec.Labels?.[namespaceLabel];
        if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
      }
      const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
      if (opts.format === 'json') {
        for (const [n, c] of rows) {
          process.stdout.write(`${JSON.stringify({ Name: n, Services: String(c) })}\n`);
        }
        return;
      }
      process.stdout.write(
        formatTable(
          ['NAME', 'SERVICES'],
          rows.map(([n, c]) => [n, String(c)]),
        ),
      );
    });

  stack
    .command('services')
    .description('List the services in the stack')
    .argument('<stack>')
    .option('-q, --quiet', 'only display IDs')
    .action(async (name: string, opts: { quiet?: boolean }, cmd: Command) => {
      const services = await stackServices(client(cmd), name);
      if (services.length === 0) {
        process.stderr.write(`Nothing found in stack: ${name}\n`);
        return;
      }
      if (opts.quiet) {
        process.stdout.write(services.map((s) => `${s.ID}\n`).join(''));
        return;
      }
      process.stdout.write(
        formatTable(
          ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
          services.map((s) => [
            s.ID.slice(0, 12),
            s.Spec.Name,
            s.Spec.Mode.Global ? 'global' : 'replicated',
            `${s.ServiceStatus?.RunningTasks ?? 0}/${s.ServiceStatus?.DesiredTasks ?? 0}`,
            s.Spec.TaskTemplate.ContainerSpec.Image,
            '',
          ]),
        ),
      );
    });

  stack
    .command('ps')
    .description('List the tasks in the stack')
    .argument('<stack>')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const api = client(cmd);
      const services = await stackServices(api, name);
      if (services.length === 0) {
        process.stderr.write(`Nothing found in stack: ${name}\n`);
        return;
      }
      const nodes = await api.get<{ ID: string; Description: { Hostname: string } }[]>('/nodes');
      const host = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
      const rows: string[][] = [];
      const now = Date.now();
      for (const s of services) {
        const tasks = await api.get<Task[]>(`/tasks?service=${s.ID}`);
        tasks.sort((a, b) => a.Slot - b.Slot || b.CreatedAt.localeCompare(a.CreatedAt));
        for (const t of tasks) {
          rows.push([
            t.ID.slice(0, 12),
            `${s.Spec.Name}.${t.Slot > 0 ? t.Slot : t.NodeID}`,
            t.Spec.ContainerSpec.Image,
            host.get(t.NodeID) ?? '',
            cap(t.DesiredState),
            `${cap(t.Status.State)} ${humanDuration(now - Date.parse(t.Status.Timestamp)).toLowerCase()} ago`,
            t.Status.Err ? `"${t.Status.Err}"` : '',
            '',
          ]);
        }
      }
      process.stdout.write(
        formatTable(
          ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'],
          rows,
        ),
      );
    });

  stack
    .command('rm')
    .alias('remove')
    .description('Remove one or more stacks')
    .argument('<stack...>')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const api = client(cmd);
      for (const name of names) {
        const services = await stackServices(api, name);
        if (services.length === 0) {
          process.stderr.write(`Nothing found in stack: ${name}\n`);
          continue;
        }
        for (const s of services) {
          process.stdout.write(`Removing service ${s.Spec.Name}\n`);
          await api.delete(`/services/${s.ID}`);
        }
      }
    });
}
