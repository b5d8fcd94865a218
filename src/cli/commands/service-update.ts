import { Option, type Command } from 'commander';
import {
  canonicalJson,
  ErrorCode,
  invalidArgument,
  TsswarmError,
  type ContainerSpec,
  type Service,
  type ServiceSpec,
  type Task,
} from '../../api/index.js';
import type { ApiClient } from '../client.js';
import {
  addHealthOptions,
  addUpdateConfigOptions,
  applyHealthFlags,
  applyUpdateConfigFlags,
  checkConstraints,
  collect,
  flagError,
  keyOf,
  keyValue,
  replicaCount,
  resourceLimits,
  resourceReservations,
  type HealthFlags,
  type ResourceFlags,
  type UpdateConfigFlags,
} from './service-flags.js';
import { applyFileUpdateFlags, type FileUpdateFlags } from './service-update-files.js';

// ---- service update -------------------------------------------------------------------------

export interface UpdateFlags
  extends HealthFlags, UpdateConfigFlags, ResourceFlags, Partial<FileUpdateFlags> {
  image?: string;
  envAdd: string[];
  envRm: string[];
  replicas?: string;
  constraintAdd: string[];
  constraintRm: string[];
  labelAdd: string[];
  labelRm: string[];
  containerLabelAdd: string[];
  containerLabelRm: string[];
  args?: string;
  force?: boolean;
  detach?: boolean;
  quiet?: boolean;
}

function conflicting(add: string[], rm: string[], flag: string): void {
  const added = new Set(add.map(keyOf));
  for (const k of rm) {
    if (added.has(keyOf(k))) {
      throw invalidArgument(
        `conflicting options: --${flag}-add and --${flag}-rm both name ${keyOf(k)}`,
      );
    }
  }
}

function labelsUpdate(
  cur: Record<string, string> | undefined,
  add: string[],
  rm: string[],
  flag: string,
): Record<string, string> | undefined {
  if (add.length === 0 && rm.length === 0) return cur;
  conflicting(add, rm, flag);
  const out = { ...cur };
  for (const k of rm) delete out[keyOf(k)];
  for (const kv of add) {
    const [k, v] = keyValue(kv, `${flag}-add`);
    out[k] = v;
  }
  return out;
}

/** Docker's `service update` flags applied to the spec read from the manager. */
export function applyUpdateFlags(spec: ServiceSpec, f: UpdateFlags): ServiceSpec {
  const c: ContainerSpec = applyFileUpdateFlags(spec.TaskTemplate.ContainerSpec, f);
  if (f.image !== undefined) {
    if (f.image.trim() === '') throw flagError(f.image, 'image', 'empty image reference');
    c.Image = f.image;
  }
  if (f.args !== undefined) c.Args = f.args.split(/\s+/).filter((a) => a !== '');
  if (f.envAdd.length > 0 || f.envRm.length > 0) {
    conflicting(f.envAdd, f.envRm, 'env');
    const rm = new Set(f.envRm.map(keyOf));
    const add = new Map(f.envAdd.map((e) => [keyOf(e), e]));
    const env = (c.Env ?? []).filter((e) => !rm.has(keyOf(e)) && !add.has(keyOf(e)));
    c.Env = [...env, ...add.values()];
  }
  const cl = labelsUpdate(c.Labels, f.containerLabelAdd, f.containerLabelRm, 'container-label');
  if (cl) c.Labels = cl;
  const health = applyHealthFlags(c.Healthcheck, f);
  if (health) c.Healthcheck = health;

  const template = { ...spec.TaskTemplate, ContainerSpec: c };
  if (f.constraintAdd.length > 0 || f.constraintRm.length > 0) {
    checkConstraints(f.constraintAdd, 'constraint-add');
    const rm = new Set(f.constraintRm.map((x) => x.replace(/\s+/g, '')));
    const kept = (template.Placement?.Constraints ?? []).filter(
      (x) => !rm.has(x.replace(/\s+/g, '')),
    );
    const added = f.constraintAdd.filter((x) => !kept.includes(x));
    template.Placement = { ...template.Placement, Constraints: [...kept, ...added] };
  }
  const limits = { ...template.Resources?.Limits, ...resourceLimits(f) };
  const reservations = { ...template.Resources?.Reservations, ...resourceReservations(f) };
  if (Object.keys(limits).length + Object.keys(reservations).length > 0) {
    template.Resources = {
      ...(Object.keys(limits).length > 0 ? { Limits: limits } : {}),
      ...(Object.keys(reservations).length > 0 ? { Reservations: reservations } : {}),
    };
  }
  if (f.force) template.ForceUpdate = (template.ForceUpdate ?? 0) + 1;

  let mode = spec.Mode;
  const replicas = replicaCount(f.replicas, Boolean(spec.Mode.Replicated));
  if (replicas !== undefined) mode = { Replicated: { Replicas: replicas } };
  const labels = labelsUpdate(spec.Labels, f.labelAdd, f.labelRm, 'label');
  return applyUpdateConfigFlags(
    { ...spec, ...(labels ? { Labels: labels } : {}), TaskTemplate: template, Mode: mode },
    f,
  );
}

// ---- progress -------------------------------------------------------------------------------

/** What the progress shows: tasks on the current spec that run, out of the desired count. */
export function updateProgress(
  service: Service,
  tasks: readonly Task[],
  nodes: number,
): { upToDate: number; desired: number; settled: boolean } {
  const want = canonicalJson(service.Spec.TaskTemplate);
  const live = tasks.filter((t) => t.DesiredState === 'running');
  const upToDate = live.filter(
    (t) => t.Status.State === 'running' && canonicalJson(t.Spec) === want,
  ).length;
  const stopping = tasks.filter(
    (t) =>
      (t.DesiredState === 'shutdown' || t.DesiredState === 'remove') &&
      ['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running'].includes(
        t.Status.State,
      ),
  ).length;
  const desired = service.Spec.Mode.Global ? nodes : (service.Spec.Mode.Replicated?.Replicas ?? 1);
  return {
    upToDate,
    desired,
    settled: upToDate === desired && live.length === desired && stopping === 0,
  };
}

/**
 * Waits for an update (or rollback) to end as docker's CLI does: progress lines while it runs,
 * `verify: Service converged` at the end, an error when it pauses or is rolled back.
 */
export async function waitForUpdate(
  api: ApiClient,
  id: string,
  kind: 'update' | 'rollback',
  out: (line: string) => void,
): Promise<void> {
  let last = '';
  let sawState = false;
  // An update that this very call saw start: a rollback state after it is its outcome.
  let sawUpdate = kind === 'update';
  let rolledBack: string | undefined;
  const deadline = Date.now() + 30 * 60_000;
  while (Date.now() < deadline) {
    const [service, tasks, nodes] = await Promise.all([
      api.get<Service>(`/services/${id}`),
      api.get<Task[]>(`/tasks?service=${encodeURIComponent(id)}`),
      api.get<{ Status: { State: string }; Spec: { Availability: string } }[]>('/nodes'),
    ]);
    const ready = nodes.filter(
      (n) => n.Status.State === 'ready' && n.Spec.Availability === 'active',
    ).length;
    const p = updateProgress(service, tasks, ready);
    const st = service.UpdateStatus;
    const prefix = st?.State.startsWith('rollback') ? 'rolling back update: ' : '';
    const line = `overall progress: ${prefix}${p.upToDate} out of ${p.desired} tasks`;
    if (line !== last) {
      out(line);
      last = line;
    }
    if (st) sawState = true;
    switch (st?.State) {
      case 'paused':
        throw invalidArgument(`service update paused: ${st.Message ?? ''}`);
      case 'rollback_paused':
        throw invalidArgument(`service rollback paused: ${st.Message ?? ''}`);
      case 'rollback_started':
      case 'rollback_completed':
        if (kind === 'update' && sawUpdate) {
          out(`rollback: ${st.Message ?? ''}`);
          kind = 'rollback';
          rolledBack = st.Message ?? 'rolled back';
        }
        if (st.State === 'rollback_completed' && p.settled) {
          out('verify: Service converged');
          if (rolledBack !== undefined) throw invalidArgument(`service rolled back: ${rolledBack}`);
          return;
        }
        break;
      case 'completed':
        if (p.settled) {
          out('verify: Service converged');
          return;
        }
        break;
      case 'updating':
        sawUpdate = true;
        break;
      case undefined:
        // No task template change (replicas, labels…): done once the tasks are.
        if (p.settled && (sawState || kind === 'update')) {
          out('verify: Service converged');
          return;
        }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new TsswarmError(ErrorCode.Unavailable, `service ${id}: ${kind} did not end in time`);
}

// ---- commands -------------------------------------------------------------------------------

export function registerServiceUpdateCommands(
  service: Command,
  client: (cmd: Command) => ApiClient,
): void {
  const create = service.commands.find((c) => c.name() === 'create');
  if (create) {
    addUpdateConfigOptions(create);
    addHealthOptions(create);
  }
  const update = service
    .command('update')
    .description('Update a service')
    .argument('<service>')
    .option('--image <ref>', 'service image tag')
    .option('--args <command>', 'service command args')
    .option('--env-add <K=V>', 'add or update an environment variable', collect, [])
    .option('--env-rm <K>', 'remove an environment variable', collect, [])
    .option('--replicas <n>', 'number of tasks')
    .option('--constraint-add <expr>', 'add or update a placement constraint', collect, [])
    .option('--constraint-rm <expr>', 'remove a constraint', collect, [])
    .option('--label-add <K=V>', 'add or update a service label', collect, [])
    .option('--label-rm <K>', 'remove a label by its key', collect, [])
    .option('--container-label-add <K=V>', 'add or update a container label', collect, [])
    .option('--container-label-rm <K>', 'remove a container label by its key', collect, [])
    .option('--limit-cpu <n>', 'limit CPUs')
    .option('--limit-memory <bytes>', 'limit memory')
    .option('--limit-pids <n>', 'limit the number of processes')
    .option('--reserve-cpu <n>', 'reserve CPUs')
    .option('--reserve-memory <bytes>', 'reserve memory')
    .option(
      '--mount-add <spec>',
      'add or update a mount on a service (same syntax as --mount)',
      collect,
      [],
    )
    .option('--mount-rm <target>', 'remove a mount by its target or source', collect, [])
    .option('--secret-add <spec>', 'add or update a secret on a service', collect, [])
    .option('--secret-rm <name>', 'remove a secret by its name or target', collect, [])
    .option('--config-add <spec>', 'add or update a config on a service', collect, [])
    .option('--config-rm <name>', 'remove a config by its name or target', collect, [])
    .option('--force', 'force update even if no changes require it')
    .addOption(new Option('--rollback', 'rollback to previous specification').conflicts(['image']))
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output');
  addUpdateConfigOptions(update);
  addHealthOptions(update);
  update.action(async (ref: string, f: UpdateFlags & { rollback?: boolean }, cmd: Command) => {
    const api = client(cmd);
    const s = await api.get<Service>(`/services/${encodeURIComponent(ref)}`);
    if (f.rollback) {
      await api.post(`/services/${s.ID}/rollback?version=${s.Version.Index}`, {});
    } else {
      // Every flag is checked before anything is sent: bad input changes nothing.
      const spec = applyUpdateFlags(s.Spec, f);
      await api.post(`/services/${s.ID}/update?version=${s.Version.Index}`, spec);
    }
    await finish(api, s, ref, f.rollback ? 'rollback' : 'update', f);
  });

  service
    .command('rollback')
    .description("Revert changes to a service's configuration")
    .argument('<service>')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .action(async (ref: string, f: { detach?: boolean; quiet?: boolean }, cmd: Command) => {
      const api = client(cmd);
      const s = await api.get<Service>(`/services/${encodeURIComponent(ref)}`);
      await api.post(`/services/${s.ID}/rollback?version=${s.Version.Index}`, {});
      await finish(api, s, ref, 'rollback', f);
    });
}

async function finish(
  api: ApiClient,
  s: Service,
  ref: string,
  kind: 'update' | 'rollback',
  f: { detach?: boolean; quiet?: boolean },
): Promise<void> {
  process.stdout.write(`${ref}\n`);
  if (kind === 'rollback' && !f.quiet)
    process.stdout.write('rollback: manually requested rollback\n');
  if (f.detach) return;
  const write = f.quiet ? () => undefined : (l: string) => void process.stdout.write(`${l}\n`);
  await waitForUpdate(api, s.ID, kind, write);
}
