import type { Service, ServiceSpec } from '../api/index.js';
import { canonicalJson } from '../api/index.js';
import type { DependsOnCondition, DependsOnEdge } from './convert-depends-on.js';
import { stackNamespaceLabel } from './converter.js';

/** Docker keeps the image as written in the stack file here, so tools can redeploy it. */
export const stackImageLabel = 'com.docker.stack.image';

/** Before its create or update, a service waits for `service` (full name) to reach `condition`. */
export interface DependencyWait {
  service: string;
  condition: DependsOnCondition;
  /** `required: false`: a dependency that fails is a warning, and the dependent goes on. */
  required: boolean;
}

export type DeployAction =
  | { type: 'remove'; name: string; id: string }
  | { type: 'create'; name: string; spec: ServiceSpec; waitFor: DependencyWait[] }
  | {
      type: 'update';
      name: string;
      id: string;
      version: number;
      spec: ServiceSpec;
      waitFor: DependencyWait[];
    }
  | { type: 'unchanged'; name: string; id: string; waitFor: DependencyWait[] };

export interface DeployPlanInput {
  stack: string;
  /** Converted specs (convertStack), named `<stack>_<service>`. */
  services: readonly ServiceSpec[];
  /** Edges between compose keys, as convertStack gives them. */
  dependsOn: readonly DependsOnEdge[];
  /** Every service of the cluster; only this stack's (by namespace label) are considered. */
  existing: readonly Service[];
  prune: boolean;
}

/**
 * What `stack deploy` does, as a value: removals first (`--prune`, as docker prunes before it
 * deploys), then every service of the file in dependency order (a service comes after what it
 * depends on; otherwise by name). A service whose canonical spec equals the deployed one is
 * `unchanged` and gets no call, so its tasks are left alone.
 */
export function planStackDeploy(input: DeployPlanInput): DeployAction[] {
  const existing = new Map(
    input.existing
      .filter((s) => s.Spec.Labels?.[stackNamespaceLabel] === input.stack)
      .map((s) => [s.Spec.Name, s]),
  );
  const byKey = new Map(input.services.map((s) => [composeKey(input.stack, s.Name), s]));
  const actions: DeployAction[] = [];
  if (input.prune) {
    const keep = new Set(input.services.map((s) => s.Name));
    for (const s of [...existing.values()].sort((a, b) => cmp(a.Spec.Name, b.Spec.Name))) {
      if (!keep.has(s.Spec.Name)) actions.push({ type: 'remove', name: s.Spec.Name, id: s.ID });
    }
  }
  for (const key of dependencyOrder([...byKey.keys()], input.dependsOn)) {
    const spec = withImageLabel(byKey.get(key) as ServiceSpec);
    const waitFor = input.dependsOn
      .filter((e) => e.service === key && byKey.has(e.dependsOn))
      .map((e) => ({
        service: (byKey.get(e.dependsOn) as ServiceSpec).Name,
        condition: e.condition,
        required: e.required,
      }))
      .sort((a, b) => cmp(a.service, b.service));
    const current = existing.get(spec.Name);
    if (!current) {
      actions.push({ type: 'create', name: spec.Name, spec, waitFor });
      continue;
    }
    // As docker does: a ForceUpdate bumped by hand is kept, so it alone is no change.
    const forced = current.Spec.TaskTemplate.ForceUpdate;
    const wanted: ServiceSpec =
      forced === undefined
        ? spec
        : { ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: forced } };
    if (canonicalJson(current.Spec) === canonicalJson(wanted)) {
      actions.push({ type: 'unchanged', name: spec.Name, id: current.ID, waitFor });
    } else {
      actions.push({
        type: 'update',
        name: spec.Name,
        id: current.ID,
        version: current.Version.Index,
        spec: wanted,
        waitFor,
      });
    }
  }
  return actions;
}

function withImageLabel(spec: ServiceSpec): ServiceSpec {
  return {
    ...spec,
    Labels: { ...spec.Labels, [stackImageLabel]: spec.TaskTemplate.ContainerSpec.Image },
  };
}

function composeKey(stack: string, name: string): string {
  return name.startsWith(`${stack}_`) ? name.slice(stack.length + 1) : name;
}

/**
 * Kahn's order over depends_on edges, smallest name first among the ready ones, so the order
 * is the same on every run. Cycles are refused while loading (checks.ts); anything left over
 * here is appended by name rather than lost.
 */
export function dependencyOrder(
  keys: readonly string[],
  edges: readonly DependsOnEdge[],
): string[] {
  const known = new Set(keys);
  const deps = new Map(keys.map((k) => [k, new Set<string>()]));
  for (const e of edges) {
    if (known.has(e.service) && known.has(e.dependsOn)) deps.get(e.service)?.add(e.dependsOn);
  }
  const out: string[] = [];
  const done = new Set<string>();
  const pending = [...keys].sort(cmp);
  while (pending.length > 0) {
    const i = pending.findIndex((k) => [...(deps.get(k) ?? [])].every((d) => done.has(d)));
    const next = pending.splice(i < 0 ? 0 : i, 1)[0] as string;
    out.push(next);
    done.add(next);
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
