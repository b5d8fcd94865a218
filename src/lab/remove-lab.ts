import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { findCgroups, nodeCgroupDirs, removeTree } from './cgroups.js';
import { defaultClaimDir, readClaim, releaseClaim } from './claim.js';
import type { LabContext } from './lab-context.js';
import { killProcess, runChecked } from './lab-host.js';
import { labDir, readLabState } from './lab-state.js';
import { mountsUnder } from './mounts.js';
import { labObjectPattern, validateLabName } from './names.js';
import { deleteNamespaces, listNetns } from './network.js';
import { killLeftovers, removeContainers } from './node-processes.js';

/**
 * Removes lab `name` and everything it made, from its lab.json and, for what a crash left
 * unrecorded, by its names' pattern. Processes go first (the recorded daemons, then anything
 * still in the lab's namespaces or cgroups: the lab made those, so what is inside is its own),
 * then mounts, namespaces (taking the veths, bridge and nft tables with them), cgroups, dirs.
 * Returns false when there was nothing to remove.
 */
export async function removeLab(ctx: LabContext, name: string): Promise<boolean> {
  validateLabName(name);
  const dir = labDir(ctx.dataRoot, name);
  const claimDir = ctx.claimDir ?? defaultClaimDir;
  const holder = await readClaim(claimDir, name);
  if (holder !== undefined && holder !== dir) {
    // The kernel objects of this name are another data-root's lab: only our dir is ours.
    if (!existsSync(dir)) return false;
    for (const m of mountsUnder(dir)) await runChecked(ctx.host, 'umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
    return true;
  }
  const state = await readLabState(ctx.dataRoot, name).catch(() => undefined);
  const pattern = labObjectPattern(name);
  const namespaces = new Set((await listNetns(ctx.host)).filter((n) => pattern.test(n)));
  const cgroups = new Set(findCgroups(ctx.cgroups, pattern));
  if (!existsSync(dir) && namespaces.size === 0 && cgroups.size === 0) {
    if (holder === dir) await releaseClaim(claimDir, name);
    return false;
  }

  for (const n of state?.nodes ?? []) {
    if (n.process !== null) await killProcess(ctx.host, n.process);
  }
  await killLeftovers(ctx, namespaces, cgroups);
  await removeContainers(ctx.host, dir);
  for (const m of mountsUnder(dir)) {
    const r = await ctx.host.run('umount', [m]);
    // Busy after every process of the lab is gone means an outside user: detach it anyway.
    if (r.code !== 0) await runChecked(ctx.host, 'umount', ['-l', m]);
  }
  await deleteNamespaces(ctx.host, namespaces);
  for (const cg of cgroups) {
    for (const d of nodeCgroupDirs(ctx.cgroups, cg)) await removeTree(d);
  }
  await rm(dir, { recursive: true, force: true });
  await releaseClaim(claimDir, name);
  return true;
}
