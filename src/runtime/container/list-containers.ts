// `inspect` and `ps`: records with their state, read afresh on every call.
import { containerState } from './container-state.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerInfo, ContainerRecord } from './types.js';

export async function inspectContainer(ctx: RuntimeContext, ref: string): Promise<ContainerInfo> {
  const id = ctx.store.resolve(ref);
  const record = ctx.store.readRecord(id);
  return Promise.resolve({ record, state: containerState(ctx, id) });
}

/** Every container, or those whose labels include all of `labels`. */
export async function listContainers(
  ctx: RuntimeContext,
  filter: { all?: boolean; labels?: Record<string, string> } = {},
): Promise<ContainerInfo[]> {
  const out: ContainerInfo[] = [];
  for (const id of ctx.store.ids()) {
    let record: ContainerRecord;
    try {
      record = ctx.store.readRecord(id);
    } catch {
      continue; // being created or removed right now
    }
    const state = containerState(ctx, id);
    if (!filter.all && !state.Running) continue;
    if (filter.labels) {
      const ok = Object.entries(filter.labels).every(([k, v]) => record.Config.Labels[k] === v);
      if (!ok) continue;
    }
    out.push({ record, state });
  }
  out.sort((a, b) => b.record.Created.localeCompare(a.record.Created));
  return Promise.resolve(out);
}
