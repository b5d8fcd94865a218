// Cost of one health probe (what the worker runs every Interval per container with a check):
// ContainerRuntime.probe of `true` in a running busybox container, against a raw `runc exec`
// of the same command in the same container (the anchor), interleaved in the same run. Needs
// root and runc. Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerRuntime } from '../src/runtime/index.js';
import { cgroupDirs, detectCgroups } from '../src/runtime/container/cgroups.js';
import { busyboxImage } from '../test/helpers/images.js';

const runs = Number(process.env['BENCH_RUNS'] ?? 30);
const work = mkdtempSync(join(tmpdir(), 'tsswarm-bench-probe-'));
const dataRoot = join(work, 'data');
const execRoot = join(work, 'exec');
const cgroupParent = `tsswarm-bench-probe-${process.pid}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

let runtime: ContainerRuntime | undefined;
let id: string | undefined;
try {
  await busyboxImage(dataRoot);
  runtime = ContainerRuntime.open({ dataRoot, execRoot, cgroupParent });
  id = await runtime.create({ image: 'busybox', cmd: ['sleep', '600'] });
  await runtime.start(id);
  const root = runtime.runtimeRoot();
  const raw = (): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('runc', ['--root', root, 'exec', id ?? '', 'true'], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`runc exec exited ${r.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const probe = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const r = await runtime!.probe(id!, ['true'], { timeoutMs: 10_000 });
    if (r.exitCode !== 0) throw new Error(`probe exited ${r.exitCode}: ${r.output}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  await probe();
  raw();
  const ours: number[] = [];
  const anchor: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await probe());
    anchor.push(raw());
  }
  const probeMs = median(ours);
  const runcMs = median(anchor);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'health-probe',
      runs,
      probeMedianMs: Math.round(probeMs * 10) / 10,
      runcExecMedianMs: Math.round(runcMs * 10) / 10,
      ratio: Math.round((probeMs / runcMs) * 100) / 100,
      loadAverage1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    })}\n`,
  );
} finally {
  if (runtime && id) await runtime.remove(id, { force: true }).catch(() => undefined);
  const layout = detectCgroups();
  for (const d of cgroupDirs(layout, `/${cgroupParent}`)) if (existsSync(d)) rmdirSync(d);
  rmSync(work, { recursive: true, force: true });
}
