import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface CgroupRoot {
  version: 1 | 2;
  /** Mount point of the cgroup filesystem(s), /sys/fs/cgroup. */
  root: string;
}

export function detectCgroupRoot(root = '/sys/fs/cgroup'): CgroupRoot {
  // A pure v2 host has cgroup.controllers at the top; hybrid v1 hosts have per-controller dirs.
  return { version: existsSync(join(root, 'cgroup.controllers')) ? 2 : 1, root };
}

// cpuset is left out: a v1 cpuset cgroup takes no process until cpus and mems are copied in,
// and the daemon has no use for one. runc sets up cpuset for the containers itself.
const daemonControllersV1 = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'devices', 'freezer'];

/** The hierarchies of a v1 host (one dir per mount; comounted ones resolve to one path). */
function hierarchies(c: CgroupRoot): string[] {
  if (c.version === 2) return [c.root];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of readdirSync(c.root)) {
    const dir = join(c.root, e);
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      continue;
    }
    if (seen.has(real) || !existsSync(join(real, 'cgroup.procs'))) continue;
    seen.add(real);
    out.push(dir);
  }
  return out;
}

/**
 * Creates the node's cgroup parent `<name>` and its `daemon` leaf (the node's own processes
 * go to a leaf: on v2 a cgroup with processes cannot hand controllers to the containers' ones)
 * and returns the leaf's cgroup.procs files.
 */
export async function createNodeCgroup(c: CgroupRoot, name: string): Promise<string[]> {
  const bases =
    c.version === 2
      ? [c.root]
      : daemonControllersV1.map((k) => join(c.root, k)).filter((d) => existsSync(d));
  const files = new Set<string>();
  for (const base of bases) {
    const leaf = join(realpathSync(base), name, 'daemon');
    await mkdir(leaf, { recursive: true });
    files.add(join(leaf, 'cgroup.procs'));
  }
  return [...files];
}

/** Every dir of cgroup `name` across the hierarchies, whoever created it (lab or runc). */
export function nodeCgroupDirs(c: CgroupRoot, name: string): string[] {
  return hierarchies(c)
    .map((h) => join(h, name))
    .filter((d) => existsSync(d));
}

/** Top-level cgroup names in any hierarchy that match `pattern`. */
export function findCgroups(c: CgroupRoot, pattern: RegExp): string[] {
  const names = new Set<string>();
  for (const h of hierarchies(c)) {
    for (const e of readdirSync(h, { withFileTypes: true })) {
      if (e.isDirectory() && pattern.test(e.name)) names.add(e.name);
    }
  }
  return [...names];
}

function subtree(dir: string): string[] {
  const out = [dir];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...subtree(join(dir, e.name)));
  }
  return out;
}

/** Pids of every process in the cgroup tree at `dir`. */
export function pidsInTree(dir: string): number[] {
  const pids = new Set<number>();
  if (!existsSync(dir)) return [];
  for (const d of subtree(dir)) {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) {
        if (line.trim() !== '') pids.add(Number(line));
      }
    } catch {
      // The cgroup went away while we walked: nothing left to count in it.
    }
  }
  return [...pids];
}

/** rmdir the whole tree, deepest first (cgroupfs refuses rm -r of its control files). */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const d of subtree(dir).reverse()) {
    await rmdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
