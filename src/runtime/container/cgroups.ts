// cgroup v1 (this machine: hybrid) and v2 (most hosts), detected at run time. runc creates and
// removes the container's cgroup; we only name it and read its counters.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupVersion = 1 | 2;

export interface CgroupLayout {
  version: CgroupVersion;
  /** Mount point of the cgroup filesystem(s). */
  root: string;
}

export function detectCgroups(root = '/sys/fs/cgroup'): CgroupLayout {
  // A pure v2 host has cgroup.controllers at the top; hybrid v1 hosts have per-controller dirs.
  const v2 = existsSync(join(root, 'cgroup.controllers'));
  return { version: v2 ? 2 : 1, root };
}

/** "/<parent>/<id>": runc's cgroupfs path, relative to each hierarchy's root. */
export function cgroupsPath(parent: string, id: string): string {
  return `/${parent.replace(/^\/+|\/+$/g, '')}/${id}`;
}

/** Directory of one controller's cgroup (v1), or the unified cgroup (v2). */
export function controllerDir(l: CgroupLayout, controller: string, path: string): string {
  return l.version === 2 ? join(l.root, path) : join(l.root, controller, path);
}

/** The file whose "oom_kill N" line counts OOM kills in the container's memory cgroup. */
export function oomCounterFile(l: CgroupLayout, path: string): string {
  return l.version === 2
    ? join(l.root, path, 'memory.events')
    : join(l.root, 'memory', path, 'memory.oom_control');
}

/** The dirs of a cgroup across every hierarchy, deepest first: what to rmdir. */
export function cgroupDirs(l: CgroupLayout, path: string): string[] {
  if (l.version === 2) return [join(l.root, path)];
  const controllers = [
    'memory',
    'cpu',
    'cpuacct',
    'pids',
    'blkio',
    'cpuset',
    'devices',
    'freezer',
    'net_cls',
    'net_prio',
    'perf_event',
    'hugetlb',
    'rdma',
    'misc',
    'systemd',
    'unified',
  ];
  return controllers.map((c) => join(l.root, c, path)).filter((d) => existsSync(d));
}

function readNumber(file: string): number | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t === 'max') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function readKeyed(file: string, key: string): number | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.split(' ');
      if (k === key && v !== undefined) return Number(v);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export interface CgroupSample {
  /** Cumulative CPU time in nanoseconds. */
  cpuNs: number;
  memoryUsage: number;
  memoryLimit: number | undefined;
  pids: number;
}

export function sampleCgroup(l: CgroupLayout, path: string): CgroupSample | undefined {
  if (l.version === 2) {
    const dir = join(l.root, path);
    if (!existsSync(dir)) return undefined;
    const usageUs = readKeyed(join(dir, 'cpu.stat'), 'usage_usec') ?? 0;
    return {
      cpuNs: usageUs * 1000,
      memoryUsage: readNumber(join(dir, 'memory.current')) ?? 0,
      memoryLimit: readNumber(join(dir, 'memory.max')),
      pids: readNumber(join(dir, 'pids.current')) ?? 0,
    };
  }
  const mem = join(l.root, 'memory', path);
  if (!existsSync(mem)) return undefined;
  // Docker subtracts the page cache that the kernel can drop (total_inactive_file).
  const usage = readNumber(join(mem, 'memory.usage_in_bytes')) ?? 0;
  const inactive = readKeyed(join(mem, 'memory.stat'), 'total_inactive_file') ?? 0;
  const limit = readNumber(join(mem, 'memory.limit_in_bytes'));
  return {
    cpuNs: readNumber(join(l.root, 'cpuacct', path, 'cpuacct.usage')) ?? 0,
    memoryUsage: Math.max(0, usage - inactive),
    // v1 reports "no limit" as a huge page-aligned number.
    memoryLimit: limit !== undefined && limit < 2 ** 62 ? limit : undefined,
    pids: readNumber(join(l.root, 'pids', path, 'pids.current')) ?? 0,
  };
}
