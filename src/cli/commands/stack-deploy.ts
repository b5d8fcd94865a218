import { Option, type Command } from 'commander';
import {
  ErrorCode,
  invalidArgument,
  notFound,
  TsswarmError,
  type Network,
  type NetworkSpec,
  type Service,
  type ServiceSpec,
  type Task,
} from '../../api/index.js';
import type { Stack } from '../../compose/index.js';
import { formatRows } from '../../display/list-format.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';
import { runStackDeploy } from '../stack-deploy-run.js';
import { printServices, printTasks, taskRows } from './service-table.js';
import { parseTaskFilters } from './task-filter.js';
import { deployStackFiles, pruneStackFiles } from './stack-files.js';

const namespaceLabel = 'com.docker.stack.namespace';
const collect = (v: string, prev: string[]): string[] => [...prev, v];

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

/**
 * Stack objects that services refer to are created here, before any service: networks, then
 * secrets and configs (as docker does). Returns the service specs to deploy, adjusted to what
 * exists (network ids, secret and config versions).
 */
async function createStackObjects(api: ApiClient, stack: Stack): Promise<ServiceSpec[]> {
  const networkIds = await deployNetworks(api, stack.networks);
  // The stored spec names networks by id: compare and send the same, so a redeploy of the
  // same file changes nothing.
  const services = stack.services.map((spec): ServiceSpec => {
    const nets = spec.TaskTemplate.Networks;
    if (!nets) return spec;
    const byId = nets.map((n) => ({ ...n, Target: networkIds.get(n.Target) ?? n.Target }));
    return { ...spec, TaskTemplate: { ...spec.TaskTemplate, Networks: byId } };
  });
  return deployStackFiles(api, stack.name, stack.secrets, stack.configs, services, process.stdout);
}

/** Only the two formats tsswarm prints; anything else (a Go template) is refused by name. */
function formatOption(): Option {
  return new Option('--format <format>', 'table, json, or a Go template such as {{.Name}}');
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
    .alias('up')
    .description('Deploy a new stack or update an existing stack')
    .argument('<stack>')
    .requiredOption('-c, --compose-file <file>', 'compose file (repeat to merge)', collect, [])
    .option('--prune', 'remove services that are no longer referenced')
    .option('-d, --detach', 'exit once the services are created instead of waiting for them')
    .action(
      async (
        name: string,
        opts: { composeFile: string[]; prune?: boolean; detach?: boolean },
        cmd: Command,
      ) => {
        // Not for the other stack verbs: see `stack config` in stack.ts for what it costs.
        const { loadCompose, convertStack, formatDiagnostic, planStackDeploy } =
          await import('../../compose/index.js');
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
        const services = await createStackObjects(api, converted.stack);
        const actions = planStackDeploy({
          stack: name,
          services,
          dependsOn: converted.stack.dependsOn,
          existing: await api.get<Service[]>('/services'),
          prune: opts.prune === true,
        });
        const failures = await runStackDeploy({
          api,
          actions,
          detach: opts.detach === true,
          out: (line) => process.stdout.write(`${line}\n`),
          warn: (line) => process.stderr.write(`${line}\n`),
        });
        if (failures.length > 0) {
          throw new TsswarmError(
            ErrorCode.Unavailable,
            `failed to deploy stack ${name}:\n${failures.map((f) => `${f.service}: ${f.error}`).join('\n')}`,
          );
        }
        // Versions of secrets and configs that no service uses after this deploy.
        await pruneStackFiles(api, name, process.stdout, { all: false });
      },
    );

  stack
    .command('ls')
    .alias('list')
    .description('List stacks')
    .addOption(formatOption())
    .action(async (opts: { format?: string }, cmd: Command) => {
      const all = await client(cmd).get<Service[]>('/services');
      const counts = new Map<string, number>();
      for (const s of all) {
        const ns = s.Spec.Labels?.[namespaceLabel];
        if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
      }
      const rows = [...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([n, c]) => ({ Name: n, Services: String(c) }));
      process.stdout.write(
        formatRows(rows, opts.format, [
          { header: 'NAME', field: 'Name' },
          { header: 'SERVICES', field: 'Services' },
        ]),
      );
    });

  stack
    .command('services')
    .description('List the services in the stack')
    .argument('<stack>')
    .option('-q, --quiet', 'only display IDs')
    .addOption(formatOption())
    .action(async (name: string, opts: { quiet?: boolean; format?: string }, cmd: Command) => {
      const services = await stackServices(client(cmd), name);
      if (services.length === 0) {
        process.stderr.write(`Nothing found in stack: ${name}\n`);
        return;
      }
      if (opts.quiet) {
        process.stdout.write(services.map((s) => `${s.ID}\n`).join(''));
        return;
      }
      printServices(services, opts.format);
    });

  stack
    .command('ps')
    .description('List the tasks in the stack')
    .argument('<stack>')
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .option(
      '-f, --filter <filter>',
      'filter: id, name, node, desired-state=running|shutdown|accepted (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .addOption(formatOption())
    .action(
      async (
        name: string,
        opts: { quiet?: boolean; trunc: boolean; format?: string; filter: string[] },
        cmd: Command,
      ) => {
        const api = client(cmd);
        const keep = parseTaskFilters(opts.filter, ['id', 'name', 'node', 'desired-state']);
        const services = await stackServices(api, name);
        if (services.length === 0) {
          process.stderr.write(`Nothing found in stack: ${name}\n`);
          return;
        }
        const nodes = await api.get<{ ID: string; Description: { Hostname: string } }[]>('/nodes');
        const host = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
        const rows: Record<string, string>[] = [];
        const now = Date.now();
        for (const s of services) {
          const tasks = (await api.get<Task[]>(`/tasks?service=${s.ID}`)).filter((t) =>
            keep(t, { serviceName: s.Spec.Name, nodeName: host.get(t.NodeID) ?? '' }),
          );
          rows.push(...taskRows(s, tasks, host, { trunc: opts.trunc, now }));
        }
        printTasks(rows, opts);
      },
    );

  stack
    .command('rm')
    .alias('remove')
    .alias('down')
    .description('Remove one or more stacks')
    .argument('<stack...>')
    .option('-d, --detach', 'do not wait for the stack tasks and containers to be removed')
    .action(async (names: string[], opts: { detach?: boolean }, cmd: Command) => {
      const api = client(cmd);
      const removed = new Set<string>();
      for (const name of names) {
        const services = await stackServices(api, name);
        for (const s of services) {
          process.stdout.write(`Removing service ${s.Spec.Name}\n`);
          await api.delete(`/services/${s.ID}`);
          removed.add(s.ID);
        }
        // Networks, secrets and configs of the stack are removed here, after its services.
        const files = await pruneStackFiles(api, name, process.stdout, { all: true });
        await removeStackNetworks(api, name);
        if (services.length === 0 && files === 0) {
          process.stderr.write(`Nothing found in stack: ${name}\n`);
        }
      }
      if (opts.detach || removed.size === 0) return;
      await waitTasksGone(api, removed);
    });
}

/**
 * Docker's `stack rm` returns while containers still stop; this one waits until the managers
 * hold no task of the removed services, which the reaper deletes only once their containers
 * have stopped and been removed on their nodes.
 */
async function waitTasksGone(api: ApiClient, serviceIds: ReadonlySet<string>): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const left = (await api.get<Task[]>('/tasks')).filter((t) => serviceIds.has(t.ServiceID));
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        `tasks still present after removing the stack: ${left.map((t) => `${t.ID.slice(0, 12)} (${t.Status.State})`).join(', ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Creates the stack's networks that do not exist yet; external ones must exist. Returns the id
 * of every network the stack names.
 */
async function deployNetworks(
  api: ApiClient,
  networks: readonly { key: string; external: boolean; spec: NetworkSpec }[],
): Promise<Map<string, string>> {
  const all = await api.get<Network[]>('/networks');
  const byName = new Map(all.map((n) => [n.Spec.Name, n.ID]));
  for (const n of networks) {
    if (byName.has(n.spec.Name)) continue;
    if (n.external) {
      throw notFound(`network "${n.spec.Name}" is declared as external, but could not be found`);
    }
  }
  for (const n of networks) {
    if (byName.has(n.spec.Name)) continue;
    process.stdout.write(`Creating network ${n.spec.Name}\n`);
    const { ID } = await api.post<{ ID: string }>('/networks/create', n.spec);
    byName.set(n.spec.Name, ID);
  }
  return byName;
}

/** After the services: the stack's own networks, once their last task has let go (bounded). */
async function removeStackNetworks(api: ApiClient, name: string): Promise<void> {
  const nets = (await api.get<Network[]>('/networks')).filter(
    (n) => n.Spec.Labels?.[namespaceLabel] === name,
  );
  for (const n of nets.sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name))) {
    process.stdout.write(`Removing network ${n.Spec.Name}\n`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await api.delete(`/networks/${n.ID}`);
        break;
      } catch (err) {
        const busy = err instanceof TsswarmError && err.code === ErrorCode.InUse;
        if (!busy || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
