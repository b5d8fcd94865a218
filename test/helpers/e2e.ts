import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/cli/client.js';
import { findNatsServer } from '../../src/manager/nats/index.js';
import { ContainerRuntime } from '../../src/runtime/index.js';
import { freePorts } from '../integration/nats/harness.js';
import { busyboxImage } from './images.js';
import { alive } from './process.js';

// What every end-to-end suite needs: the built CLI, a way to run it, polling until a condition
// holds, the reason a suite cannot run on this machine, and a one-node swarm on loopback.

export const repo = join(import.meta.dirname, '..', '..');
/** The built CLI: tests run it as `node dist/tsswarm.mjs`, as bin/tsswarm does. */
export const cliPath = join(repo, 'dist', 'tsswarm.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed (closed at once without it). */
  input?: string;
}

/** Runs a program to its end; never rejects: the exit code says how it went. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(opts.env ? { env: opts.env } : {}),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** `tsswarm ARGS` with this checkout's built CLI. */
export const tsswarm = (args: string[], opts?: RunOptions): Promise<Run> =>
  run(process.execPath, [cliPath, ...args], opts);

/** `tsswarm ARGS`, failing with its stderr unless it exits 0; resolves to its stdout. */
export async function tsswarmOk(args: string[], opts?: RunOptions): Promise<string> {
  const r = await tsswarm(args, opts);
  if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const ci = process.env['CI'] === 'true';
const haveNats = (await findNatsServer()) !== undefined;

/**
 * Whether an e2e suite must skip here, saying why on stderr. Such suites need root,
 * nats-server, the built CLI and its monitor, and the tools named in `needs`. Under CI=true
 * nothing skips: a missing piece fails the suite with its real error instead.
 */
export function skipE2e(suite: string, needs: string[] = []): boolean {
  const missing = needs.filter((t) => !existsSync(t));
  const reason =
    process.getuid?.() !== 0
      ? 'needs root'
      : !haveNats
        ? 'needs nats-server'
        : !existsSync(cliPath) || !existsSync(join(repo, 'build', 'tsswarm-shim'))
          ? 'needs the built CLI (npm run build)'
          : missing.length > 0
            ? `needs ${missing.join(', ')}`
            : '';
  if (reason === '' || ci) return false;
  console.warn(`${suite} skipped: ${reason}`);
  return true;
}

/**
 * `swarm init`/`daemon` port flags of a manager: raft, nats, nats cluster and nats monitor from
 * `ports` (the first four), and the TLS API when `apiPort` is given.
 */
export function managerPortFlags(ports: readonly number[], apiPort?: number): string[] {
  const [raft, nats, cluster, monitor] = ports.map(String);
  return [
    ...(apiPort === undefined ? [] : ['--api-port', String(apiPort)]),
    '--raft-port',
    raft ?? '',
    '--nats-port',
    nats ?? '',
    '--nats-cluster-port',
    cluster ?? '',
    '--nats-monitor-port',
    monitor ?? '',
  ];
}

/**
 * A one-node swarm on loopback in a temporary directory: `swarm init` with free ports, the
 * busybox image, and a runtime handle on the node's containers. `destroy` leaves nothing:
 * it leaves the swarm, then kills by PID whatever is still there and removes every container.
 */
export class OneNodeSwarm {
  /** Processes the tests started, killed by `destroy` if still alive. */
  readonly pids = new Set<number>();
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly runtime: ContainerRuntime;

  private constructor(
    readonly base: string,
    readonly ports: number[],
    /** The manager's TLS API port, when asked for (`tcp://127.0.0.1:<apiPort>`). */
    readonly apiPort?: number,
  ) {
    this.dataRoot = join(base, 'data');
    this.execRoot = join(base, 'exec');
    this.runtime = ContainerRuntime.open({ dataRoot: this.dataRoot, execRoot: this.execRoot });
  }

  /**
   * `beforeInit` runs once the busybox image is in place, before `swarm init`; `tlsApi` also
   * opens the manager's TLS API on a free port.
   */
  static async create(
    prefix: string,
    beforeInit?: (s: OneNodeSwarm) => Promise<void>,
    opts: { tlsApi?: boolean } = {},
  ): Promise<OneNodeSwarm> {
    const [api, ...ports] = await freePorts(5);
    const base = await mkdtemp(join(tmpdir(), prefix));
    const s = new OneNodeSwarm(base, ports, opts.tlsApi ? api : undefined);
    await busyboxImage(s.dataRoot);
    await beforeInit?.(s);
    const out = await s.ok('swarm', 'init', '--advertise-addr', '127.0.0.1', ...s.daemonFlags());
    if (!/^Swarm initialized: current node \(\w+\) is now a manager\./.test(out)) {
      throw new Error(`unexpected swarm init output: ${out}`);
    }
    s.pids.add(s.daemonPid());
    return s;
  }

  /** The daemon's ports, as `swarm init` and `daemon` take them. */
  daemonFlags(): string[] {
    return managerPortFlags(this.ports, this.apiPort);
  }

  cli(args: string[], opts?: RunOptions): Promise<Run> {
    return tsswarm(['--data-root', this.dataRoot, '--exec-root', this.execRoot, ...args], {
      timeoutMs: 180_000,
      ...opts,
    });
  }

  ok(...args: string[]): Promise<string> {
    return tsswarmOk(['--data-root', this.dataRoot, '--exec-root', this.execRoot, ...args], {
      timeoutMs: 180_000,
    });
  }

  get socket(): string {
    return join(this.execRoot, 'tsswarm.sock');
  }

  api(): ApiClient {
    return new ApiClient({ socketPath: this.socket });
  }

  daemonPid(): number {
    return Number(readFileSync(join(this.execRoot, 'tsswarm.pid'), 'utf8').trim());
  }

  /** Running containers of a service, straight from the runtime (not the store). */
  async running(service: string) {
    const list = await this.runtime.list({ labels: { 'com.docker.swarm.service.name': service } });
    return list.filter((c) => c.state.Running);
  }

  /** Remembers the daemon's and every container monitor's PID, for `destroy`. */
  async rememberPids(): Promise<void> {
    if (existsSync(join(this.execRoot, 'tsswarm.pid'))) this.pids.add(this.daemonPid());
    for (const c of await this.runtime.list({ all: true })) {
      if (c.state.MonitorPid > 0) this.pids.add(c.state.MonitorPid);
    }
  }

  async destroy(): Promise<void> {
    try {
      await this.rememberPids().catch(() => undefined);
      if (existsSync(this.socket)) await this.cli(['swarm', 'leave', '--force']);
    } finally {
      for (const pid of this.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      const natsPidFile = join(this.dataRoot, 'nats', 'nats-server.pid');
      if (existsSync(natsPidFile)) {
        const pid = Number(readFileSync(natsPidFile, 'utf8').trim());
        if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
      }
      // runtime.remove unmounts what a container mounted (secrets tmpfs) before its files go.
      for (const c of await this.runtime.list({ all: true }).catch(() => [])) {
        await this.runtime.remove(c.record.Id, { force: true }).catch(() => undefined);
      }
      await rm(this.base, { recursive: true, force: true });
    }
  }
}

/** What `lab create` needs on the host besides root and nats-server. */
export const LAB_TOOLS = ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/sbin/nft', '/usr/sbin/runc'];

/** Parses `--format json` output: one object per line. */
export const jsonLines = <T>(out: string): T[] =>
  out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

/**
 * A lab made by `tsswarm lab create` in a temporary data root with the busybox image, and the
 * CLI pointed at one of its nodes. `destroy` runs `lab rm`, which removes every namespace,
 * process, mount and rule the lab made.
 */
export class TestLab {
  private sockets = new Map<string, string>();

  private constructor(
    readonly name: string,
    readonly dataRoot: string,
  ) {}

  static async create(
    name: string,
    nodes: { managers: number; workers: number },
  ): Promise<TestLab> {
    const l = new TestLab(name, await mkdtemp(join(tmpdir(), `tsswarm-${name}-`)));
    await busyboxImage(l.dataRoot);
    const args = ['--managers', String(nodes.managers), '--workers', String(nodes.workers)];
    const r = await l.lab(['create', name, ...args], 180_000);
    if (r.code !== 0) throw new Error(`lab create ${name}: ${r.stderr}`);
    const rows = JSON.parse((await l.lab(['ls', '--format', 'json'])).stdout) as {
      lab: string;
      name: string;
      socket: string;
    }[];
    l.sockets = new Map(rows.filter((n) => n.lab === name).map((n) => [n.name, n.socket]));
    return l;
  }

  get nodes(): string[] {
    return [...this.sockets.keys()].sort();
  }

  /** `tsswarm lab ARGS` on this lab's data root. */
  lab(args: string[], timeoutMs = 60_000): Promise<Run> {
    return tsswarm(['--data-root', this.dataRoot, 'lab', ...args], { timeoutMs });
  }

  /** `tsswarm -H <node's socket> ARGS`. */
  on(node: string, args: string[], timeoutMs = 30_000): Promise<Run> {
    return tsswarm(['-H', `unix://${this.sockets.get(node) ?? ''}`, ...args], { timeoutMs });
  }

  async ok(node: string, args: string[], timeoutMs = 60_000): Promise<string> {
    const r = await this.on(node, args, timeoutMs);
    if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} on ${node}: ${r.stderr}`);
    return r.stdout;
  }

  async destroy(): Promise<void> {
    try {
      await this.lab(['rm', this.name], 180_000);
    } finally {
      await rm(this.dataRoot, { recursive: true, force: true });
    }
  }
}
