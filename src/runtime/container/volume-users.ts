// Volumes as containers see them: who mounts one, and docker's refusal to remove it then.
import { inUse, notFound } from '../../api/errors.js';
import { readJson } from './container-store.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerRecord } from './types.js';

/** Containers (in any state) that mount the volume. */
export function volumeUsers(ctx: RuntimeContext, name: string): string[] {
  const users: string[] = [];
  for (const id of ctx.store.ids()) {
    const r = readJson<ContainerRecord>(ctx.store.paths(id).record);
    if (r?.Mounts.some((m) => m.Type === 'volume' && m.Name === name)) users.push(id);
  }
  return users;
}

/** Docker's `volume rm`: refused while a container uses it; `force` ignores a missing one. */
export function removeVolume(
  ctx: RuntimeContext,
  name: string,
  opts: { force?: boolean } = {},
): void {
  if (!ctx.volumes.get(name)) {
    if (opts.force) return;
    throw notFound(`No such volume: ${name}`);
  }
  const users = volumeUsers(ctx, name);
  if (users.length > 0) {
    throw inUse(`remove ${name}: volume is in use - [${users.join(', ')}]`);
  }
  ctx.volumes.remove(name);
}
