// `remove`: whatever the monitor left (runtime state, mounts, cgroups), then the files.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { conflict } from '../../api/errors.js';
import { runtimeBinary, runtimeRoot } from './binaries.js';
import { cgroupDirs, cgroupsPath } from './cgroups.js';
import { readJson } from './container-store.js';
import { containerState, monitorMarker } from './container-state.js';
import { secretsDir } from './file-mounts.js';
import type { RuntimeContext } from './runtime-context.js';
import { killContainer, waitContainer } from './stop-container.js';
import type { ContainerRecord } from './types.js';

export async function removeContainer(
  ctx: RuntimeContext,
  ref: string,
  opts: { force?: boolean } = {},
): Promise<void> {
  const id = ctx.store.resolve(ref);
  const r = ctx.store.readRecord(id);
  const s = containerState(ctx, id);
  if (s.Running) {
    if (!opts.force) {
      throw conflict(
        `cannot remove container ${ref}: container is running: stop the container before removing or force remove`,
      );
    }
    await killContainer(ctx, id, 'SIGKILL').catch(() => undefined);
    await waitContainer(ctx, id);
  }
  // The monitor unmounts and deletes the runtime state once the container has exited.
  const deadline = Date.now() + 10_000;
  while (s.MonitorPid > 0 && ctx.host.processAlive(s.MonitorPid, monitorMarker)) {
    if (Date.now() > deadline) break;
    await delay(10);
  }
  const running = readJson<{ monitorPid: number }>(ctx.store.paths(id).running);
  while (running && ctx.host.processAlive(running.monitorPid, monitorMarker)) {
    if (Date.now() > deadline) break;
    await delay(10);
  }
  await cleanupRuntime(ctx, id, r);
  removeFiles(ctx, id, r);
}

/** Undoes what a dead monitor could not: runtime state, mount, cgroup. */
async function cleanupRuntime(ctx: RuntimeContext, id: string, r: ContainerRecord): Promise<void> {
  const p = ctx.store.paths(id);
  const root = runtimeRoot(ctx.config.execRoot, r.HostConfig.Runtime);
  if (existsSync(join(root, id))) {
    await ctx.host.runRuntime(runtimeBinary(r.HostConfig.Runtime), [
      '--root',
      root,
      'delete',
      '--force',
      id,
    ]);
  }
  if (ctx.host.isMounted(p.rootfs)) await ctx.host.unmount(p.rootfs);
  if (ctx.host.isMounted(secretsDir(p))) await ctx.host.unmount(secretsDir(p));
  for (const d of cgroupDirs(ctx.cgroups, cgroupsPath(r.HostConfig.CgroupParent, id))) {
    try {
      rmSync(d, { recursive: false, force: true });
    } catch {
      // busy or gone
    }
  }
}

export function removeFiles(ctx: RuntimeContext, id: string, r: ContainerRecord): void {
  const p = ctx.store.paths(id);
  rmSync(p.bundle, { recursive: true, force: true });
  rmSync(p.dir, { recursive: true, force: true });
  const namePath = ctx.store.namePath(r.Name.slice(1));
  try {
    if (readFileSync(namePath, 'utf8').trim() === id) rmSync(namePath, { force: true });
  } catch {
    // already gone
  }
}
