import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RaftStats } from '../../../src/manager/raft/index.js';
import { testPki } from '../../helpers/certs.js';
import { until } from '../../helpers/until.js';
import type { RaftProcessConfig } from './raft-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const script = path.join(here, 'raft-process.ts');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True while a child we spawned has neither exited nor been killed by a signal. */
export function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** SIGKILL one child by its own handle (so only a PID we spawned), then wait for the exit. */
export async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Polls `leader` until it names one, or throws after `timeoutMs`. */
export async function waitForLeader(
  leader: () => Promise<string | null>,
  timeoutMs: number,
): Promise<string> {
  return until(leader, { what: 'a leader', timeoutMs });
}

/** One JSON request to a loopback HTTP port; the reply body is parsed as JSON. */
export function requestJson<T>(
  port: number,
  agent: http.Agent,
  method: string,
  url: string,
  body?: unknown,
  timeoutMs = 3000,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: url,
        agent,
        timeout: timeoutMs,
        headers:
          payload === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(payload),
              },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T,
            });
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A cluster of raft server processes on loopback, for tests and benchmarks. Only the PIDs it
 * spawned are ever signalled.
 */
export class RaftProcessCluster {
  readonly dir: string;
  readonly ids: string[];
  private configs = new Map<string, RaftProcessConfig>();
  private children = new Map<string, ChildProcess>();
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  private stderr = new Map<string, string>();

  private constructor(dir: string, ids: string[]) {
    this.dir = dir;
    this.ids = ids;
  }

  static async create(size: number): Promise<RaftProcessCluster> {
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-procs-'));
    const c = new RaftProcessCluster(dir, ids);
    const pki = await testPki(ids);
    const raftPorts = await Promise.all(ids.map(() => freePort()));
    const httpPorts = await Promise.all(ids.map(() => freePort()));
    const bootstrap = {
      servers: ids.map((id, i) => ({
        id,
        address: `127.0.0.1:${raftPorts[i]}`,
        suffrage: 'voter' as const,
      })),
    };
    ids.forEach((id, i) => {
      c.configs.set(id, {
        id,
        dataDir: path.join(dir, id),
        raftAddress: `127.0.0.1:${raftPorts[i]}`,
        httpPort: httpPorts[i]!,
        caPem: pki.ca.certPem,
        certPem: pki.node(id).certPem,
        keyPem: pki.node(id).keyPem,
        bootstrap,
      });
    });
    return c;
  }

  start(id: string): void {
    const cfg = this.configs.get(id)!;
    const file = path.join(this.dir, `${id}.json`);
    fs.writeFileSync(file, JSON.stringify(cfg));
    // node --import tsx (not the tsx CLI) so the PID we signal is the server itself, not a wrapper.
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: root,
    });
    this.stderr.set(id, '');
    child.stderr!.on('data', (d: Buffer) => {
      const s = (this.stderr.get(id) ?? '') + d.toString();
      this.stderr.set(id, s.slice(-4000));
    });
    this.children.set(id, child);
  }

  startAll(): void {
    for (const id of this.ids) this.start(id);
  }

  isRunning(id: string): boolean {
    return isRunning(this.children.get(id));
  }

  /** SIGKILL by PID, then wait for the exit. */
  async kill(id: string): Promise<void> {
    await killAndWait(this.children.get(id));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
    this.agent.destroy();
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  logs(id: string): string {
    return this.stderr.get(id) ?? '';
  }

  httpPort(id: string): number {
    return this.configs.get(id)!.httpPort;
  }

  request<T>(
    id: string,
    method: string,
    url: string,
    body?: unknown,
    timeoutMs = 3000,
  ): Promise<{ status: number; body: T }> {
    return requestJson<T>(this.httpPort(id), this.agent, method, url, body, timeoutMs);
  }

  async stats(id: string): Promise<RaftStats | null> {
    if (!this.isRunning(id)) return null;
    try {
      return (await this.request<RaftStats>(id, 'GET', '/stats', undefined, 1000)).body;
    } catch {
      return null;
    }
  }

  /** The running leader with the highest term, or null. */
  async leader(): Promise<string | null> {
    let best: RaftStats | null = null;
    for (const id of this.ids) {
      const s = await this.stats(id);
      if (s?.role === 'leader' && (best === null || s.term > best.term)) best = s;
    }
    return best?.id ?? null;
  }

  async waitForLeader(timeoutMs: number): Promise<string> {
    return waitForLeader(() => this.leader(), timeoutMs);
  }

  /** One write; follows NotLeader redirects. Resolves with the index, or null when not acknowledged. */
  async put(
    target: string,
    key: string,
    value: string,
  ): Promise<{ index: number; node: string } | { redirect: string | null } | null> {
    try {
      const r = await this.request<{ index?: number; leaderId?: string | null }>(
        target,
        'POST',
        '/put',
        { key, value },
      );
      if (r.status === 200 && typeof r.body.index === 'number')
        return { index: r.body.index, node: target };
      if (r.status === 421) return { redirect: r.body.leaderId ?? null };
      return null;
    } catch {
      return null;
    }
  }
}
