// Container start latency end to end (`tsswarm run --rm busybox true`) against a raw
// `runc run` of an equivalent bundle, measured in the same run, and the monitor's RSS per
// running container. Needs root and a built tree (npm run build). Prints one JSON line.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroupDirs, detectCgroups } from '../src/runtime/container/cgroups.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'bin', 'tsswarm');
const runs = Number(process.env['BENCH_RUNS'] ?? 15);
const monitors = 5;

const work = mkdtempSync(join(tmpdir(), 'tsswarm-bench-runtime-'));
const dataRoot = join(work, 'data');
const execRoot = join(work, 'exec');
const cgroupParent = `tsswarm-bench-${process.pid}`;
const env = { ...process.env, TSSWARM_CGROUP_PARENT: cgroupParent };
const base = ['--data-root', dataRoot, '--exec-root', execRoot];

function tsswarm(args: string[], input?: Buffer): string {
  return execFileSync(cli, [...base, ...args], { env, input, encoding: 'utf8' });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function timeMs(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const ids: string[] = [];
try {
  const tar = execFileSync('bash', [join(repo, 'scripts', 'busybox-rootfs.sh')], {
    maxBuffer: 64 * 1024 * 1024,
  });
  tsswarm(['image', 'import', '-', '--name', 'busybox:latest', '--change', 'CMD ["sh"]'], tar);

  // The raw baseline: the same rootfs unpacked, runc's default spec running /bin/true.
  const bundle = join(work, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  execFileSync('tar', ['-x', '-C', join(bundle, 'rootfs')], { input: tar });
  execFileSync('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[] };
  };
  spec.process.terminal = false;
  spec.process.args = ['true'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const runcRoot = join(work, 'runc-root');

  // One warm-up each, so page cache and first-run costs are not measured.
  timeMs(cli, [...base, 'run', '--rm', 'busybox', 'true']);
  timeMs('runc', ['--root', runcRoot, 'run', '--bundle', bundle, 'warm']);
  const tss: number[] = [];
  const raw: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(timeMs(process.execPath, ['-e', '0']));
    // Interleaved, so load from elsewhere on the machine hits both alike.
    tss.push(timeMs(cli, [...base, 'run', '--rm', 'busybox', 'true']));
    raw.push(timeMs('runc', ['--root', runcRoot, 'run', '--bundle', bundle, `raw${i}`]));
  }

  for (let i = 0; i < monitors; i++) {
    ids.push(tsswarm(['run', '-d', 'busybox', 'sleep', '600']).trim());
  }
  const rss: number[] = [];
  for (const id of ids) {
    const running = JSON.parse(
      readFileSync(join(dataRoot, 'containers', id, 'running.json'), 'utf8'),
    ) as { monitorPid: number };
    const status = readFileSync(`/proc/${running.monitorPid}/status`, 'utf8');
    rss.push(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN));
  }
  const tssMs = median(tss);
  const runcMs = median(raw);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'runtime',
      runs,
      runMedianMs: Math.round(tssMs * 10) / 10,
      runcMedianMs: Math.round(runcMs * 10) / 10,
      ratio: Math.round((tssMs / runcMs) * 100) / 100,
      // Context: a bare `node -e 0` here (NODE_EXTRA_CA_CERTS, if set, makes it slower).
      nodeStartMedianMs: Math.round(median(node) * 10) / 10,
      monitorRssKb: Math.round(rss.reduce((a, b) => a + b, 0) / rss.length),
      monitors,
      loadAverage1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    })}\n`,
  );
} finally {
  if (ids.length > 0) spawnSync(cli, [...base, 'rm', '-f', ...ids], { env, stdio: 'ignore' });
  const layout = detectCgroups();
  for (const d of cgroupDirs(layout, `/${cgroupParent}`)) if (existsSync(d)) rmdirSync(d);
  rmSync(work, { recursive: true, force: true });
}
