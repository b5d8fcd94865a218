import { Option, type Command } from 'commander';
import {
  invalidArgument,
  notFound,
  parseMountFlag,
  TsswarmError,
  ErrorCode,
  type Node,
  type Service,
  type ServiceSpec,
  type Task,
} from '../../api/index.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects } from '../../display/list-format.js';
import { parseSignal } from '../../runtime/container/parse.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';
import { prettyService } from './pretty.js';
import { parsePublish } from './publish-flag.js';
import {
  applyHealthFlags,
  applyUpdateConfigFlags,
  checkConstraints,
  checkEndpointMode,
  checkMode,
  collect,
  configReference,
  duration,
  fileTarget,
  int,
  keyValues,
  opt,
  placementPreferences,
  replicaCount,
  resourceLimits,
  resourceReservations,
  restartPolicy,
  secretReference,
  type HealthFlags,
  type ResourceFlags,
  type RestartFlags,
  type UpdateConfigFlags,
} from './service-flags.js';
import { streamServiceLogs, type ServiceLogsFlags } from './service-logs.js';
import { printServices, printTasks, taskRows } from './service-table.js';
import { parseTaskFilters } from './task-filter.js';
import { registerServiceUpdateCommands } from './service-update.js';

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

interface CreateFlags extends HealthFlags, UpdateConfigFlags, ResourceFlags, RestartFlags {
  name?: string;
  replicas?: string;
  mode: string;
  env: string[];
  label: string[];
  containerLabel: string[];
  constraint: string[];
  stopGracePeriod?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  stopSignal?: string;
  placementPref: string[];
  replicasMaxPerNode?: string;
  detach?: boolean;
  quiet?: boolean;
  network: string[];
  publish: string[];
  endpointMode?: string;
  mount: string[];
  secret: string[];
  config: string[];
}

function buildSpec(image: string, args: string[], f: CreateFlags): ServiceSpec {
  checkConstraints(f.constraint, 'constraint');
  const preferences = placementPreferences(f.placementPref);
  const maxPerNode = int(f.replicasMaxPerNode, 'replicas-max-per-node');
  const stopSignal =
    f.stopSignal === undefined ? undefined : parseSignal('--stop-signal', f.stopSignal);
  const mode = checkMode(f.mode);
  const replicas = replicaCount(f.replicas, mode !== 'global');
  const restart = restartPolicy(f);
  const limits = resourceLimits(f);
  const reservations = resourceReservations(f);
  const mounts = f.mount.map(parseMountFlag);
  const secrets = f.secret.map((v) => secretReference(...fileTarget('--secret', v)));
  const configs = f.config.map((v) => configReference(...fileTarget('--config', v)));
  const name = f.name ?? randomServiceName();
  const health = applyHealthFlags(undefined, f);
  const ports = f.publish.map(parsePublish);
  const endpointMode = checkEndpointMode(f.endpointMode);
  return {
    Name: name,
    Labels: keyValues(f.label, 'label'),
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(args.length > 0 ? { Args: args } : {}),
        ...(f.env.length > 0 ? { Env: f.env } : {}),
        ...(f.containerLabel.length > 0
          ? { Labels: keyValues(f.containerLabel, 'container-label') }
          : {}),
        ...opt('Dir', f.workdir),
        ...opt('User', f.user),
        ...opt('Hostname', f.hostname),
        ...opt('StopGracePeriod', duration(f.stopGracePeriod, 'stop-grace-period')),
        ...(health ? { Healthcheck: health } : {}),
        ...(mounts.length > 0 ? { Mounts: mounts } : {}),
        ...(secrets.length > 0 ? { Secrets: secrets } : {}),
        ...(configs.length > 0 ? { Configs: configs } : {}),
        ...opt('StopSignal', stopSignal),
      },
      ...(Object.keys(limits).length + Object.keys(reservations).length > 0
        ? {
            Resources: {
              ...(Object.keys(limits).length > 0 ? { Limits: limits } : {}),
              ...(Object.keys(reservations).length > 0 ? { Reservations: reservations } : {}),
            },
          }
        : {}),
      ...(Object.keys(restart).length > 0 ? { RestartPolicy: restart } : {}),
      ...(f.constraint.length + preferences.length > 0 || maxPerNode !== undefined
        ? {
            Placement: {
              ...(f.constraint.length > 0 ? { Constraints: f.constraint } : {}),
              ...(preferences.length > 0 ? { Preferences: preferences } : {}),
              ...opt('MaxReplicas', maxPerNode),
            },
          }
        : {}),
      ...(f.network.length > 0 ? { Networks: f.network.map((n) => ({ Target: n })) } : {}),
    },
    ...(ports.length > 0 || endpointMode !== undefined
      ? {
          EndpointSpec: {
            ...(endpointMode !== undefined ? { Mode: endpointMode } : {}),
            ...(ports.length > 0 ? { Ports: ports } : {}),
          },
        }
      : {}),
    Mode: mode === 'global' ? { Global: {} } : { Replicated: { Replicas: replicas ?? 1 } },
  };
}

function randomServiceName(): string {
  const adjectives = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'quiet', 'sharp'];
  const names = ['turing', 'hopper', 'lovelace', 'ritchie', 'thompson', 'knuth', 'liskov'];
  const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)] as T;
  return `${pick(adjectives)}_${pick(names)}`;
}

/** Counts that decide convergence: running tasks that should run, tasks still stopping. */
export function progress(
  service: Service,
  tasks: Task[],
  nodes: Node[],
): { running: number; desired: number; stopping: number } {
  const running = tasks.filter(
    (t) => t.DesiredState === 'running' && t.Status.State === 'running',
  ).length;
  // A task on a node that is down cannot report that it stopped: nothing to wait for.
  const down = new Set(nodes.filter((n) => n.Status.State === 'down').map((n) => n.ID));
  const stopping = tasks.filter(
    (t) =>
      (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') &&
      !down.has(t.NodeID) &&
      ['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running'].includes(
        t.Status.State,
      ),
  ).length;
  const desired = service.Spec.Mode.Global
    ? nodes.filter((n) => n.Status.State === 'ready' && n.Spec.Availability === 'active').length
    : (service.Spec.Mode.Replicated?.Replicas ?? 1);
  return { running, desired, stopping };
}

/** How far along a task is, as docker's progress bar counts the states up to running. */
const barStates = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
];

/**
 * Docker's per-task lines under "overall progress" (`2/3: running   [====…>]`, one per slot,
 * or per node for a global service), for up to 20 tasks; beyond that only the overall line.
 */
export function taskBars(service: Service, tasks: Task[], desired: number): string[] {
  if (desired > 20) return [];
  const current = tasks.filter((t) => t.DesiredState === 'running');
  const global = service.Spec.Mode.Global !== undefined;
  const rows: [string, Task][] = current.map((t) => [
    global ? t.NodeID.slice(0, 12) : `${t.Slot}/${desired}`,
    t,
  ]);
  rows.sort((a, b) => a[1].Slot - b[1].Slot || a[0].localeCompare(b[0]));
  return rows.map(([key, t]) => {
    const step = barStates.indexOf(t.Status.State) + 1;
    const width = 50;
    const filled = step <= 0 ? 0 : Math.round((width * step) / barStates.length);
    const bar =
      filled >= width ? `${'='.repeat(width - 1)}>` : `${'='.repeat(filled)}>`.padEnd(width);
    return `${key}: ${t.Status.State.padEnd(9)} [${bar}]`;
  });
}

/** Without --detach, create and scale wait for the service to converge, as docker does. */
async function waitConverged(api: ApiClient, id: string): Promise<void> {
  let last = '';
  const bars = new Map<string, string>();
  process.stdout.write(`${id}\n`);
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    const [service, tasks, nodes] = await Promise.all([
      api.get<Service>(`/services/${id}`),
      api.get<Task[]>(`/tasks?service=${encodeURIComponent(id)}`),
      api.get<Node[]>('/nodes'),
    ]);
    const p = progress(service, tasks, nodes);
    const line = `overall progress: ${p.running} out of ${p.desired} tasks`;
    if (line !== last) {
      process.stdout.write(`${line}\n`);
      last = line;
    }
    for (const row of taskBars(service, tasks, p.desired)) {
      const [key] = row.split(':');
      if (bars.get(key ?? '') === row) continue;
      bars.set(key ?? '', row);
      process.stdout.write(`${row}\n`);
    }
    if (p.running === p.desired && p.stopping === 0) {
      process.stdout.write('verify: Service converged\n');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new TsswarmError(ErrorCode.Unavailable, `service ${id} did not converge in time`);
}

export function registerServiceCommands(program: Command): void {
  // Options after IMAGE belong to the container's command (`httpd -f`), as in docker.
  const service = program
    .command('service')
    .description('Manage swarm services')
    .enablePositionalOptions();

  service
    .command('create')
    .description('Create a new service')
    .argument('<image>', 'image to run')
    .argument('[command...]', 'command and arguments')
    .option('--name <name>', 'service name')
    .option('--replicas <n>', 'number of tasks')
    .addOption(new Option('--mode <mode>', 'replicated or global').default('replicated'))
    .option('-e, --env <K=V>', 'set environment variables', collect, [])
    .option('-l, --label <K=V>', 'service labels', collect, [])
    .option('--container-label <K=V>', 'container labels', collect, [])
    .option('--constraint <expr>', 'placement constraints', collect, [])
    .option(
      '--placement-pref <pref>',
      'placement preference (spread=node.labels.<label>)',
      collect,
      [],
    )
    .option(
      '--replicas-max-per-node <n>',
      'maximum number of tasks per node (default 0 = unlimited)',
    )
    .option('--reserve-cpu <n>', 'reserve CPUs')
    .option('--reserve-memory <bytes>', 'reserve memory')
    .option('--limit-cpu <n>', 'limit CPUs')
    .option('--limit-memory <bytes>', 'limit memory')
    .option('--limit-pids <n>', 'limit the number of processes')
    .option('--restart-condition <c>', 'none, on-failure or any (default any)')
    .option('--restart-delay <d>', 'delay between restart attempts (default 5s)')
    .option('--restart-max-attempts <n>', 'maximum number of restarts before giving up')
    .option('--restart-window <d>', 'window used to evaluate the restart policy')
    .option('--stop-grace-period <d>', 'time to wait before force killing a container')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', 'username or UID')
    .option('--hostname <name>', 'container hostname')
    .option(
      '--mount <spec>',
      'attach a mount: type=volume|bind|tmpfs,source=…,target=…[,readonly][,volume-label=k=v][,tmpfs-size=…][,tmpfs-mode=…]',
      collect,
      [],
    )
    .option(
      '--secret <spec>',
      'give the service a secret: NAME or source=…,target=…,uid=…,gid=…,mode=…',
      collect,
      [],
    )
    .option(
      '--config <spec>',
      'give the service a config: NAME or source=…,target=…,uid=…,gid=…,mode=…',
      collect,
      [],
    )
    .option('--stop-signal <signal>', 'signal to stop the container')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .option('--network <network>', 'network attachments', collect, [])
    .option(
      '-p, --publish <port>',
      'publish a port: [PUBLISHED:]TARGET[/udp] or long form',
      collect,
      [],
    )
    .option('--endpoint-mode <mode>', 'vip or dnsrr (default vip)')
    .passThroughOptions()
    .action(async (image: string, args: string[], f: CreateFlags, cmd: Command) => {
      const api = client(cmd);
      const spec = applyUpdateConfigFlags(buildSpec(image, args, f), f);
      const { ID } = await api.post<{ ID: string }>('/services/create', spec);
      if (f.detach || f.quiet) {
        process.stdout.write(`${ID}\n`);
        if (!f.detach) await waitQuiet(api, ID);
        return;
      }
      await waitConverged(api, ID);
    });

  service
    .command('ls')
    .alias('list')
    .description('List services')
    .option('-q, --quiet', 'only display IDs')
    .option('--format <format>', 'table, json, or a Go template such as {{.Name}}')
    .action(async (opts: { quiet?: boolean; format?: string }, cmd: Command) => {
      const services = await client(cmd).get<Service[]>('/services?status=true');
      services.sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
      if (opts.quiet) {
        process.stdout.write(services.map((s) => `${s.ID}\n`).join(''));
        return;
      }
      printServices(services, opts.format);
    });

  service
    .command('inspect')
    .description('Display detailed information on one or more services')
    .argument('<service...>')
    .option('--pretty', 'human-readable output')
    .option('-f, --format <format>', 'json (default), pretty, or a Go template such as {{.ID}}')
    .action(async (refs: string[], o: { pretty?: boolean; format?: string }, cmd: Command) => {
      const api = client(cmd);
      const out: Service[] = [];
      for (const r of refs) out.push(await api.get<Service>(`/services/${encodeURIComponent(r)}`));
      if (o.pretty || o.format === 'pretty') {
        process.stdout.write(out.map(prettyService).join('\n'));
        return;
      }
      process.stdout.write(formatObjects(out, o.format, dockerFields.Service));
    });

  service
    .command('ps')
    .description('List the tasks of one or more services')
    .argument('<service...>')
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', 'table, json, or a Go template such as {{.Name}}')
    .option(
      '-f, --filter <filter>',
      'filter: id, name, node, desired-state=running|shutdown|accepted (repeatable)',
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
        const keep = parseTaskFilters(opts.filter, ['id', 'name', 'node', 'desired-state']);
        const nodes = await api.get<Node[]>('/nodes');
        const nodeName = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
        const rows: Record<string, string>[] = [];
        const now = Date.now();
        for (const ref of refs) {
          const s = await api.get<Service>(`/services/${encodeURIComponent(ref)}`);
          const tasks = (
            await api.get<Task[]>(`/tasks?service=${encodeURIComponent(s.ID)}`)
          ).filter((t) =>
            keep(t, { serviceName: s.Spec.Name, nodeName: nodeName.get(t.NodeID) ?? '' }),
          );
          rows.push(...taskRows(s, tasks, nodeName, { trunc: opts.trunc, now }));
        }
        printTasks(rows, opts);
      },
    );

  service
    .command('scale')
    .description('Scale one or multiple replicated services')
    .argument('<service=replicas...>')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .action(async (pairs: string[], opts: { detach?: boolean }, cmd: Command) => {
      const api = client(cmd);
      const parsed = pairs.map((p) => {
        const m = /^(.+)=(.*)$/.exec(p);
        if (!m || m[1] === undefined || m[2] === undefined) {
          throw invalidArgument(`invalid scale specifier '${p}': expected SERVICE=REPLICAS`);
        }
        if (!/^\d+$/.test(m[2])) {
          throw invalidArgument(
            `invalid replicas value for service ${m[1]}: ${m[2]} is not a valid value`,
          );
        }
        return { ref: m[1], replicas: Number(m[2]) };
      });
      // Every service is checked before any is changed, so a bad one leaves all unchanged.
      const services: Service[] = [];
      for (const p of parsed) {
        const s = await api.get<Service>(`/services/${encodeURIComponent(p.ref)}`);
        if (!s.Spec.Mode.Replicated) {
          throw invalidArgument(
            `${p.ref}: scale can only be used with replicated or replicated-job mode`,
          );
        }
        services.push(s);
      }
      for (const [i, p] of parsed.entries()) {
        const s = services[i] as Service;
        const spec: ServiceSpec = { ...s.Spec, Mode: { Replicated: { Replicas: p.replicas } } };
        await api.post(`/services/${s.ID}/update?version=${s.Version.Index}`, spec);
        process.stdout.write(`${p.ref} scaled to ${p.replicas}\n`);
      }
      if (!opts.detach) {
        for (const s of services) await waitConverged(api, s.ID);
      }
    });

  // Adds update, rollback, and the health and update/rollback flags of create.
  registerServiceUpdateCommands(service, client);

  service
    .command('rm')
    .alias('remove')
    .description('Remove one or more services')
    .argument('<service...>')
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const api = client(cmd);
      const errors: string[] = [];
      for (const r of refs) {
        try {
          await api.delete(`/services/${encodeURIComponent(r)}`);
          process.stdout.write(`${r}\n`);
        } catch (err) {
          errors.push(err instanceof Error ? err.message : String(err));
        }
      }
      if (errors.length > 0) {
        throw notFound(errors.join('\n'));
      }
    });

  service
    .command('logs')
    .description('Fetch the logs of a service')
    .argument('<service>')
    .option('-f, --follow', 'follow log output')
    .option('-n, --tail <n>', 'number of lines to show from the end of the logs')
    .option('-t, --timestamps', 'show timestamps')
    .option(
      '--since <when>',
      'only lines since a time (RFC 3339, unix seconds) or for a duration (10m)',
    )
    .option('--raw', 'do not prefix the lines with their task')
    .option('--no-task-ids', 'do not show task IDs in the prefix')
    .option('--no-trunc', 'show task IDs in full')
    .action(async (ref: string, opts: ServiceLogsFlags, cmd: Command) => {
      await streamServiceLogs(client(cmd), ref, opts);
    });
}

async function waitQuiet(api: ApiClient, id: string): Promise<void> {
  const orig = process.stdout.write.bind(process.stdout);
  const sink = (() => true) as typeof process.stdout.write;
  process.stdout.write = sink;
  try {
    await waitConverged(api, id);
  } finally {
    process.stdout.write = orig;
  }
}
