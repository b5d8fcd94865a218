// One-node swarm: `service create --replicas N` of busybox httpd until all N containers run,
// then scale N → 0 until none runs, and the daemon's RSS when idle (no tasks, then N tasks);
// then a lab of 1 manager + 1 worker for the RSS of a worker-only daemon once it is idle.
// Prints one JSON line. Needs root, nats-server, runc and a built CLI (npm run build).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainerRuntime } from '../src/runtime/index.js';
import { busyboxImage } from '../test/helpers/images.js';
import { freePorts } from '../test/integration/nats/harness.js';

const replicas = Number(process.argv[2] ?? 100);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'dist', 'tsswarm.mjs');
const base = await mkdtemp(join(tmpdir(), 'tsswarm-bench-svc-'));
const dataRoot = join(base, 'data');
const execRoot = join(base, 'exec');
const cli = (...args: string[]): string =>
  execFileSync(process.execPath, [bin, '--data-root', dataRoot, '--exec-root', execRoot, ...args], {
    encoding: 'utf8',
  });
const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 102.4) / 10;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS of the worker's daemon in a lab of 1 manager + 1 worker, once the worker is idle. */
async function idleWorkerRssMb(): Promise<number> {
  const lab = `rss${process.pid % 10000}`;
  const labCli = (...args: string[]): string =>
    execFileSync(process.execPath, [bin, '--data-root', dataRoot, 'lab', ...args], {
      encoding: 'utf8',
    });
  labCli('create', lab, '--managers', '1', '--workers', '1');
  try {
    const nodes = JSON.parse(labCli('ls', '--format', 'json')) as {
      lab: string;
      role: string;
      pid: number | null;
      socket: string;
    }[];
    const worker = nodes.find((n) => n.lab === lab && n.role === 'worker');
    const manager = nodes.find((n) => n.lab === lab && n.role === 'manager');
    if (!worker?.pid || !manager) throw new Error('lab: no worker daemon');
    await until(
      'the worker ready',
      () => {
        const out = execFileSync(
          process.execPath,
          [bin, '-H', `unix://${manager.socket}`, 'node', 'ls', '--format', 'json'],
          { encoding: 'utf8' },
        );
        const ready = out
          .trim()
          .split('\n')
          .filter((l) => JSON.parse(l).Status === 'Ready').length;
        return Promise.resolve(ready === 2);
      },
      30_000,
    );
    // Idle: registered, a few heartbeats, no task.
    await sleep(3000);
    return rssMb(worker.pid);
  } finally {
    labCli('rm', lab);
  }
}

let daemonPid = 0;
let natsPid = 0;
const runtime = ContainerRuntime.open({ dataRoot, execRoot });
const runningCount = async (): Promise<number> =>
  (await runtime.list({ labels: { 'com.docker.swarm.service.name': 'bench' } })).length;
async function until(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

try {
  await busyboxImage(dataRoot);
  const [raft, nats, natsCluster, natsMonitor] = await freePorts(4);
  const t0 = performance.now();
  cli(
    'swarm',
    'init',
    '--advertise-addr',
    '127.0.0.1',
    '--raft-port',
    String(raft),
    '--nats-port',
    String(nats),
    '--nats-cluster-port',
    String(natsCluster),
    '--nats-monitor-port',
    String(natsMonitor),
  );
  const initMs = performance.now() - t0;
  daemonPid = Number(readFileSync(join(execRoot, 'tsswarm.pid'), 'utf8'));
  natsPid = Number(readFileSync(join(dataRoot, 'nats', 'nats-server.pid'), 'utf8'));
  await sleep(2000);
  const idleRssMb = rssMb(daemonPid);

  const t1 = performance.now();
  cli(
    'service',
    'create',
    '-d',
    '--name',
    'bench',
    '--replicas',
    String(replicas),
    '--stop-grace-period',
    '1s',
    'busybox',
    'httpd',
    '-f',
  );
  await until(`${replicas} running`, async () => (await runningCount()) === replicas, 120_000);
  const createMs = performance.now() - t1;
  await sleep(2000);
  const busyRssMb = rssMb(daemonPid);

  const t2 = performance.now();
  cli('service', 'scale', '-d', 'bench=0');
  await until('0 running', async () => (await runningCount()) === 0, 120_000);
  const scaleDownMs = performance.now() - t2;

  const workerIdleRssMb = await idleWorkerRssMb();

  console.log(
    JSON.stringify({
      bench: 'service',
      replicas,
      initMs: Math.round(initMs),
      createToAllRunningMs: Math.round(createMs),
      scaleToZeroMs: Math.round(scaleDownMs),
      stopGracePeriod: '1s (httpd as pid 1 ignores SIGTERM)',
      daemonIdleRssMb: idleRssMb,
      daemonRssMbWithTasks: busyRssMb,
      workerDaemonIdleRssMb: workerIdleRssMb,
      targetWorkerIdleRssMb: 80,
      dockerdAnchor: existsSync('/usr/bin/dockerd')
        ? 'installed: not measured by this bench'
        : 'dockerd not installed: 155 MB + containerd 55 MB (measured here earlier)',
      targetCreateMs: 5000,
      dockerSwarm2010Anchor: '20 replicas in 7.8 s (measured here earlier, not in this run)',
    }),
  );
} finally {
  try {
    if (existsSync(join(execRoot, 'tsswarm.sock'))) cli('swarm', 'leave', '--force');
  } catch {
    // cleaned below
  }
  for (const pid of [daemonPid, natsPid]) {
    try {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const c of await runtime.list({ all: true }).catch(() => [])) {
    await runtime.remove(c.record.Id, { force: true }).catch(() => undefined);
  }
  await rm(base, { recursive: true, force: true });
}
