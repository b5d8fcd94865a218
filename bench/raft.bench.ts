/**
 * Raft benchmark: 3 servers as processes on loopback TCP with mutual TLS, driven over loopback
 * HTTP. Measures propose→commit latency from one sequential client, throughput with 64
 * concurrent proposers, and the time from SIGKILL of the leader to the next successful write.
 * The same shapes run against a 3-member etcd (the anchor) when /usr/bin/etcd exists.
 * Prints one JSON line; progress goes to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  RaftProcessCluster,
  freePort,
  isRunning,
  killAndWait,
  requestJson,
  waitForLeader,
} from '../test/integration/raft/raft-processes.js';

const sequentialWrites = Number(process.env.RAFT_BENCH_SEQUENTIAL ?? '2000');
const concurrency = 64;
const throughputMs = Number(process.env.RAFT_BENCH_THROUGHPUT_MS ?? '5000');
const failoverTrials = Number(process.env.RAFT_BENCH_FAILOVERS ?? '3');
const value = 'x'.repeat(100);
const etcdBinary = '/usr/bin/etcd';

const log = (s: string): void => void process.stderr.write(`raft.bench: ${s}\n`);

/** What a benchmark needs from a system under test. */
interface Target {
  /** One write to `node`; true when acknowledged. */
  put(node: string, key: string): Promise<boolean>;
  leader(): Promise<string | null>;
  nodes: string[];
  kill(node: string): Promise<void>;
  restart(node: string): void;
  /** Propose→apply time measured inside the leader, where the system can report it. */
  serverLatency?: {
    reset(node: string): Promise<void>;
    read(node: string): Promise<{ p50: number; p99: number } | null>;
  };
}

interface Figures {
  latencyMs: { p50: number; p99: number; mean: number };
  throughputOpsPerSec: number;
  failoverMs: number[];
  failoverMedianMs: number;
  sequentialFailures: number;
  proposeToApplyInLeaderMs?: { p50: number; p99: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (n: number): number => Math.round(n * 100) / 100;

interface System {
  name: string;
  target: Target;
  stop(): Promise<void>;
}

/**
 * Latency and throughput are measured in alternating blocks across the systems, so that the
 * load of a shared machine falls on both alike; failover runs last, one system at a time.
 */
async function measureAll(systems: System[]): Promise<Map<string, Figures>> {
  const state = new Map<
    string,
    {
      leader: string;
      lat: number[];
      failures: number;
      done: number;
      failed: number;
      busyMs: number;
    }
  >();
  for (const { name, target: t } of systems) {
    const leader = await waitForLeader(() => t.leader(), 30_000);
    for (let i = 0; i < 200; i++) await t.put(leader, `warm${i}`);
    await t.serverLatency?.reset(leader);
    state.set(name, { leader, lat: [], failures: 0, done: 0, failed: 0, busyMs: 0 });
  }
  const blocks = 20;
  for (let b = 0; b < blocks; b++) {
    for (const { name, target: t } of systems) {
      const st = state.get(name)!;
      for (let i = 0; i < sequentialWrites / blocks; i++) {
        const start = performance.now();
        if (await t.put(st.leader, `seq${b}-${i}`)) {
          st.lat.push(performance.now() - start);
          continue;
        }
        // A leader change mid-run (this machine is shared): count it, find the leader, go on.
        if (++st.failures > 10) throw new Error(`${name}: sequential writes keep failing`);
        st.leader = await waitForLeader(() => t.leader(), 30_000);
      }
    }
  }
  const inside = new Map<string, { p50: number; p99: number } | null>();
  for (const { name, target: t } of systems) {
    inside.set(name, (await t.serverLatency?.read(state.get(name)!.leader)) ?? null);
  }
  const windows = 5;
  for (let w = 0; w < windows; w++) {
    for (const { name, target: t } of systems) {
      const st = state.get(name)!;
      const started = performance.now();
      const until = started + throughputMs / windows;
      await Promise.all(
        Array.from({ length: concurrency }, async (_, c) => {
          for (let i = 0; performance.now() < until; i++) {
            if (await t.put(st.leader, `c${w}-${c}-${i}`)) st.done++;
            else st.failed++;
          }
        }),
      );
      st.busyMs += performance.now() - started;
    }
  }

  const out = new Map<string, Figures>();
  for (const { name, target: t } of systems) {
    const st = state.get(name)!;
    const lat = st.lat.sort((a, b) => a - b);
    const throughput = st.done / (st.busyMs / 1000);
    log(`${name}: sequential p50 ${percentile(lat, 50).toFixed(2)} ms`);
    log(
      `${name}: ${Math.round(throughput)} writes/s with ${concurrency} proposers (${st.failed} failed)`,
    );
    const failoverMs: number[] = [];
    for (let trial = 0; trial < failoverTrials; trial++) {
      const leader = await waitForLeader(() => t.leader(), 30_000);
      const survivors = t.nodes.filter((n) => n !== leader);
      await t.kill(leader);
      const start = performance.now();
      let ok = false;
      for (let i = 0; !ok; i++) {
        if (performance.now() - start > 30_000) {
          throw new Error(`${name}: no write within 30 s of the leader's death`);
        }
        const target = (await t.leader()) ?? survivors[i % survivors.length]!;
        ok = await t.put(target, `failover${trial}-${i}`);
        if (!ok) await new Promise((r) => setTimeout(r, 5));
      }
      failoverMs.push(performance.now() - start);
      log(`${name}: failover ${trial + 1}: ${Math.round(failoverMs.at(-1)!)} ms`);
      t.restart(leader);
      // Let the restarted server catch up before the next trial.
      await new Promise((r) => setTimeout(r, 3000));
    }
    const sortedFailover = [...failoverMs].sort((a, b) => a - b);
    const ins = inside.get(name) ?? null;
    out.set(name, {
      latencyMs: {
        p50: round(percentile(lat, 50)),
        p99: round(percentile(lat, 99)),
        mean: round(lat.reduce((a, b) => a + b, 0) / lat.length),
      },
      ...(ins === null
        ? {}
        : { proposeToApplyInLeaderMs: { p50: round(ins.p50), p99: round(ins.p99) } }),
      throughputOpsPerSec: Math.round(throughput),
      failoverMs: failoverMs.map(Math.round),
      failoverMedianMs: Math.round(percentile(sortedFailover, 50)),
      sequentialFailures: st.failures,
    });
  }
  return out;
}

async function tsswarm(): Promise<System> {
  const c = await RaftProcessCluster.create(3);
  c.startAll();
  const target: Target = {
    nodes: c.ids,
    put: async (node, key) => {
      const r = await c.put(node, key, value);
      return r !== null && 'index' in r;
    },
    leader: () => c.leader(),
    kill: (node) => c.kill(node),
    restart: (node) => c.start(node),
    serverLatency: {
      reset: async (node) => {
        await c.request(node, 'GET', '/propose-latency/reset');
      },
      read: async (node) =>
        (await c.request<{ p50: number; p99: number } | null>(node, 'GET', '/propose-latency'))
          .body,
    },
  };
  return {
    name: 'tsswarm',
    target,
    stop: async () => {
      await c.stopAll();
      c.cleanup();
    },
  };
}

class EtcdCluster {
  private children = new Map<string, ChildProcess>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  readonly names = ['e1', 'e2', 'e3'];
  private args = new Map<string, string[]>();
  private memberIds = new Map<string, string>();

  constructor(
    readonly dir: string,
    private readonly clientPorts: number[],
    peerPorts: number[],
  ) {
    const initial = this.names.map((n, i) => `${n}=https://127.0.0.1:${peerPorts[i]}`).join(',');
    this.names.forEach((n, i) => {
      this.args.set(n, [
        '--name',
        n,
        '--data-dir',
        path.join(dir, n),
        '--listen-client-urls',
        `http://127.0.0.1:${clientPorts[i]}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${clientPorts[i]}`,
        '--listen-peer-urls',
        `https://127.0.0.1:${peerPorts[i]}`,
        '--initial-advertise-peer-urls',
        `https://127.0.0.1:${peerPorts[i]}`,
        // Peer traffic encrypted like ours (etcd's auto TLS; it does not verify peers).
        '--peer-auto-tls',
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--log-level',
        'error',
        '--logger',
        'zap',
      ]);
    });
  }

  start(name: string): void {
    const child = spawn(etcdBinary, this.args.get(name)!, {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    this.children.set(name, child);
  }

  async kill(name: string): Promise<void> {
    await killAndWait(this.children.get(name));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.names.map((n) => this.kill(n)));
    this.agent.destroy();
  }

  private post(
    name: string,
    url: string,
    body: unknown,
    timeoutMs = 3000,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const port = this.clientPorts[this.names.indexOf(name)]!;
    return requestJson<Record<string, unknown>>(port, this.agent, 'POST', url, body, timeoutMs);
  }

  async put(name: string, key: string): Promise<boolean> {
    try {
      const r = await this.post(name, '/v3/kv/put', {
        key: Buffer.from(key).toString('base64'),
        value: Buffer.from(value).toString('base64'),
      });
      return r.status === 200 && r.body.header !== undefined;
    } catch {
      return false;
    }
  }

  async leader(): Promise<string | null> {
    for (const n of this.names) {
      if (!isRunning(this.children.get(n))) continue;
      try {
        const r = await this.post(n, '/v3/maintenance/status', {}, 1000);
        const header = r.body.header as { member_id?: string } | undefined;
        if (header?.member_id !== undefined) this.memberIds.set(n, header.member_id);
        if (header?.member_id !== undefined && r.body.leader === header.member_id) return n;
      } catch {
        // Down or still starting.
      }
    }
    return null;
  }
}

async function etcd(): Promise<(System & { version: string }) | null> {
  if (!fs.existsSync(etcdBinary) || process.env.RAFT_BENCH_ANCHOR === '0') return null;
  const version =
    /etcd Version: (\S+)/.exec(
      await new Promise<string>((resolve) => {
        const p = spawn(etcdBinary, ['--version']);
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.on('close', () => resolve(out));
      }),
    )?.[1] ?? 'unknown';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-etcd-'));
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const cluster = new EtcdCluster(dir, ports.slice(0, 3), ports.slice(3));
  for (const n of cluster.names) cluster.start(n);
  const target: Target = {
    nodes: cluster.names,
    put: (node, key) => cluster.put(node, key),
    leader: () => cluster.leader(),
    kill: (node) => cluster.kill(node),
    restart: (node) => cluster.start(node),
  };
  return {
    name: 'etcd',
    version,
    target,
    stop: async () => {
      await cluster.stopAll();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const systems: System[] = [];
let results: Map<string, Figures>;
let etcdVersion: string | null = null;
try {
  systems.push(await tsswarm());
  const e = await etcd();
  if (e !== null) {
    systems.push(e);
    etcdVersion = e.version;
  }
  results = await measureAll(systems);
} finally {
  for (const s of systems) await s.stop();
}
const ours = results.get('tsswarm')!;
const etcdFigures = results.get('etcd');
const anchor = etcdFigures === undefined ? null : { version: etcdVersion, ...etcdFigures };
const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
console.log(
  JSON.stringify({
    bench: 'raft',
    shape: {
      nodes: 3,
      transport: 'loopback TCP, mutual TLS',
      client: 'loopback HTTP/JSON, keep-alive',
      valueBytes: value.length,
      sequentialWrites,
      concurrency,
      throughputMs,
    },
    tsswarm: ours,
    etcd: anchor,
    ratios:
      anchor === null
        ? null
        : {
            // Below 1 is better for latency and failover, above 1 for throughput.
            latencyP50: ratio(ours.latencyMs.p50, anchor.latencyMs.p50),
            latencyP99: ratio(ours.latencyMs.p99, anchor.latencyMs.p99),
            throughput: ratio(ours.throughputOpsPerSec, anchor.throughputOpsPerSec),
            failoverMedian: ratio(ours.failoverMedianMs, anchor.failoverMedianMs),
          },
    goals: { failoverUnder2s: ours.failoverMs.every((ms) => ms <= 2000) },
  }),
);
