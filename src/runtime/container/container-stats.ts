// `stats`: CPU over a 100 ms window, memory and pids, from each container's cgroup.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { cgroupsPath, sampleCgroup } from './cgroups.js';
import { inspectContainer, listContainers } from './list-containers.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerStats } from './types.js';

export async function containerStats(
  ctx: RuntimeContext,
  refs?: string[],
): Promise<ContainerStats[]> {
  const infos =
    refs && refs.length > 0
      ? await Promise.all(refs.map((r) => inspectContainer(ctx, r)))
      : await listContainers(ctx, { all: false });
  const paths = infos.map((i) => cgroupsPath(i.record.HostConfig.CgroupParent, i.record.Id));
  const before = paths.map((p) => sampleCgroup(ctx.cgroups, p));
  const t0 = process.hrtime.bigint();
  await delay(100);
  const wallNs = Number(process.hrtime.bigint() - t0);
  return infos.map((info, k) => {
    const a = before[k];
    const b = sampleCgroup(ctx.cgroups, paths[k] ?? '');
    const cpu = a && b && wallNs > 0 ? ((b.cpuNs - a.cpuNs) / wallNs) * 100 : 0;
    return {
      id: info.record.Id,
      name: info.record.Name.slice(1),
      cpuPercent: Math.max(0, cpu),
      memoryUsage: b?.memoryUsage ?? 0,
      memoryLimit: b?.memoryLimit ?? totalMemory(),
      pids: b?.pids ?? 0,
    };
  });
}

function totalMemory(): number {
  try {
    const m = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
