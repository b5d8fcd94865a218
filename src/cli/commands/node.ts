import type { Command } from 'commander';
import {
  invalidArgument,
  type Node,
  type NodeSpec,
  type Service,
  type Task,
} from '../../api/index.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';
import { prettyNode } from './pretty.js';
import { printTasks, taskRows } from './service-table.js';
import { parseTaskFilters } from './task-filter.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects, formatRows } from '../../display/list-format.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('Manage swarm nodes');

  node
    .command('ps')
    .description('List tasks running on one or more nodes, defaults to the current node')
    .argument('[node...]')
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', 'table, json, or a Go template such as {{.Name}}')
    .option(
      '-f, --filter <filter>',
      'filter: id, name, label, desired-state=running|shutdown|accepted (repeatable)',
      collect,
      [],
    )
    .action(
      async (
        refs: string[],
        opts: { quiet?: boolean; trunc: boolean; format?: string; filter: string[] },
        cmd: Command,
      ) => {
        const api = client(cmd);
        const keep = parseTaskFilters(opts.filter, ['id', 'name', 'label', 'desired-state']);
        const [nodes, services] = await Promise.all([
          api.get<Node[]>('/nodes'),
          api.get<Service[]>('/services'),
        ]);
        const hostname = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
        const rows: Record<string, string>[] = [];
        const now = Date.now();
        for (const ref of refs.length > 0 ? refs : ['self']) {
          const n = await api.get<Node>(`/nodes/${encodeURIComponent(ref)}`);
          const tasks = await api.get<Task[]>(`/tasks?node=${encodeURIComponent(n.ID)}`);
          // Rows per service, as docker groups them; a task whose service is gone has no row.
          for (const s of services) {
            const mine = tasks.filter(
              (t) =>
                t.ServiceID === s.ID &&
                keep(t, { serviceName: s.Spec.Name, nodeName: n.Description.Hostname }),
            );
            if (mine.length > 0) {
              rows.push(...taskRows(s, mine, hostname, { trunc: opts.trunc, now }));
            }
          }
        }
        printTasks(rows, opts);
      },
    );

  node
    .command('ls')
    .alias('list')
    .description('List nodes in the swarm')
    .option('-q, --quiet', 'only display IDs')
    .option('--format <format>', 'json, or table')
    .action(async (opts: { quiet?: boolean; format?: string }, cmd: Command) => {
      const api = client(cmd);
      const [nodes, info] = await Promise.all([
        api.get<Node[]>('/nodes'),
        api.get<{ Swarm: { NodeID: string } }>('/info'),
      ]);
      nodes.sort((a, b) => a.Description.Hostname.localeCompare(b.Description.Hostname));
      if (opts.quiet) {
        process.stdout.write(nodes.map((n) => `${n.ID}\n`).join(''));
        return;
      }
      const rows = nodes.map((n) => ({
        ID: n.ID,
        Self: n.ID === info.Swarm.NodeID,
        Hostname: n.Description.Hostname,
        Status: cap(n.Status.State),
        Availability: cap(n.Spec.Availability),
        ManagerStatus: n.ManagerStatus
          ? n.ManagerStatus.Leader
            ? 'Leader'
            : cap(n.ManagerStatus.Reachability)
          : '',
        EngineVersion: n.Description.Engine.EngineVersion ?? '',
        TLSStatus: 'Ready',
      }));
      process.stdout.write(
        formatRows(rows, opts.format, [
          { header: 'ID', field: 'ID', cell: (r) => r.ID + (r.Self ? ' *' : '') },
          { header: 'HOSTNAME', field: 'Hostname' },
          { header: 'STATUS', field: 'Status' },
          { header: 'AVAILABILITY', field: 'Availability' },
          { header: 'MANAGER STATUS', field: 'ManagerStatus' },
          { header: 'ENGINE VERSION', field: 'EngineVersion' },
        ]),
      );
    });

  node
    .command('inspect')
    .description('Display detailed information on one or more nodes')
    .argument('<node...>', 'node ids or names ("self" for this node)')
    .option('--pretty', 'human-readable output')
    .option('-f, --format <format>', 'json (default), pretty, or a Go template such as {{.ID}}')
    .action(async (refs: string[], o: { pretty?: boolean; format?: string }, cmd: Command) => {
      const api = client(cmd);
      const out: Node[] = [];
      for (const r of refs) out.push(await api.get<Node>(`/nodes/${encodeURIComponent(r)}`));
      if (o.pretty || o.format === 'pretty') {
        process.stdout.write(out.map(prettyNode).join('\n'));
        return;
      }
      process.stdout.write(formatObjects(out, o.format, dockerFields.Node));
    });

  node
    .command('update')
    .description('Update a node')
    .argument('<node>')
    .option('--availability <a>', 'active, pause or drain')
    .option('--role <role>', 'worker or manager')
    .option('--label-add <K=V>', 'add or update a node label', collect, [])
    .option('--label-rm <K>', 'remove a node label', collect, [])
    .action(
      async (
        ref: string,
        opts: { availability?: string; role?: string; labelAdd: string[]; labelRm: string[] },
        cmd: Command,
      ) => {
        const api = client(cmd);
        const n = await api.get<Node>(`/nodes/${encodeURIComponent(ref)}`);
        const spec: NodeSpec = structuredClone(n.Spec);
        if (opts.availability !== undefined) {
          const a = opts.availability.toLowerCase();
          if (a !== 'active' && a !== 'pause' && a !== 'drain') {
            throw invalidArgument(
              `invalid argument "${opts.availability}" for "--availability" flag: use active, pause or drain`,
            );
          }
          spec.Availability = a;
        }
        if (opts.role !== undefined) {
          const r = opts.role.toLowerCase();
          if (r !== 'worker' && r !== 'manager') {
            throw invalidArgument(
              `invalid argument "${opts.role}" for "--role" flag: use worker or manager`,
            );
          }
          spec.Role = r;
        }
        for (const kv of opts.labelAdd) {
          const i = kv.indexOf('=');
          const k = i < 0 ? kv : kv.slice(0, i);
          if (k === '') throw invalidArgument(`invalid label "${kv}" for --label-add: empty key`);
          spec.Labels[k] = i < 0 ? '' : kv.slice(i + 1);
        }
        for (const k of opts.labelRm) {
          if (!(k in spec.Labels)) {
            throw invalidArgument(`key ${k} doesn't exist in node's labels`);
          }
          delete spec.Labels[k];
        }
        await api.post(`/nodes/${n.ID}/update?version=${n.Version.Index}`, spec);
        process.stdout.write(`${ref}\n`);
      },
    );

  for (const [verb, role] of [
    ['promote', 'manager'],
    ['demote', 'worker'],
  ] as const) {
    node
      .command(verb)
      .description(
        verb === 'promote'
          ? 'Promote one or more nodes to manager in the swarm'
          : 'Demote one or more nodes from manager in the swarm',
      )
      .argument('<node...>')
      .action(async (refs: string[], _opts: unknown, cmd: Command) => {
        const api = client(cmd);
        for (const ref of refs) {
          const n = await api.get<Node>(`/nodes/${encodeURIComponent(ref)}`);
          if (n.Spec.Role === role) {
            process.stdout.write(`Node ${ref} is already a ${role}.\n`);
            continue;
          }
          await api.post(`/nodes/${n.ID}/update?version=${n.Version.Index}`, {
            ...n.Spec,
            Role: role,
          });
          process.stdout.write(
            role === 'manager'
              ? `Node ${ref} promoted to a manager in the swarm.\n`
              : `Manager ${ref} demoted in the swarm.\n`,
          );
        }
      });
  }

  node
    .command('rm')
    .alias('remove')
    .description('Remove one or more nodes from the swarm')
    .argument('<node...>')
    .option('-f, --force', 'force remove a node from the swarm')
    .action(async (refs: string[], opts: { force?: boolean }, cmd: Command) => {
      const api = client(cmd);
      for (const r of refs) {
        await api.delete(`/nodes/${encodeURIComponent(r)}?force=${opts.force === true}`);
        process.stdout.write(`${r}\n`);
      }
    });
}
