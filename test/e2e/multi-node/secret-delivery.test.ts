// Two nodes on loopback (a manager and a joined worker): a secret travels only to the node
// that runs a task using it, and is dropped there once no task uses it.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssignmentMessage } from '../../../src/api/dispatch.js';
import type { Task } from '../../../src/api/index.js';
import { ApiClient } from '../../../src/cli/client.js';
import { readNodeCertificate, readRootCa } from '../../../src/ca/index.js';
import { nodeClientOptions } from '../../../src/manager/nats/index.js';
import { ContainerRuntime } from '../../../src/runtime/index.js';
import { busyboxImage } from '../../helpers/images.js';
import { freePorts } from '../../integration/nats/harness.js';
import { alive } from '../../helpers/process.js';
import { cliPath, managerPortFlags, skipE2e, tsswarm } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

const skip = skipE2e('secret delivery e2e');

describe.skipIf(skip)('secret delivery across two nodes (root, nats-server, built CLI)', () => {
  let base = '';
  const m = { data: '', exec: '' };
  const w = { data: '', exec: '' };
  const m2 = { data: '', exec: '' };
  let ports: number[] = [];
  let workerId = '';
  let managerId = '';
  let tap: NatsConnection | undefined;
  /** Every assignment message the dispatcher sent, by the node it went to. */
  const sent: { node: string; msg: AssignmentMessage }[] = [];
  const pids = new Set<number>();
  const secretText = `s-${Math.random().toString(36).slice(2)}-only-where-used`;

  const cli = (node: { data: string; exec: string }, ...args: string[]) =>
    tsswarm(['--data-root', node.data, '--exec-root', node.exec, ...args], { timeoutMs: 60_000 });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(m, ...args);
    if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const managerApi = (): ApiClient => new ApiClient({ socketPath: join(m.exec, 'tsswarm.sock') });

  const rememberPids = (): void => {
    for (const file of [
      join(m.exec, 'tsswarm.pid'),
      join(m.data, 'nats', 'nats-server.pid'),
      join(w.exec, 'tsswarm.pid'),
      join(m2.exec, 'tsswarm.pid'),
      join(m2.data, 'nats', 'nats-server.pid'),
    ]) {
      if (existsSync(file)) {
        const pid = Number(readFileSync(file, 'utf8').trim());
        if (pid > 0) pids.add(pid);
      }
    }
  };

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'tsswarm-e2e-deliver-'));
    Object.assign(m, { data: join(base, 'm-data'), exec: join(base, 'm-exec') });
    Object.assign(w, { data: join(base, 'w-data'), exec: join(base, 'w-exec') });
    Object.assign(m2, { data: join(base, 'm2-data'), exec: join(base, 'm2-exec') });
    ports = await freePorts(11);
    await busyboxImage(m.data);
    await busyboxImage(w.data);
    const init = await cli(
      m,
      'swarm',
      'init',
      '--advertise-addr',
      '127.0.0.1',
      ...managerPortFlags(ports.slice(1, 5), ports[0]),
    );
    rememberPids();
    expect(init.code, init.stderr).toBe(0);
    managerId = (await managerApi().get<{ ID: string }>('/nodes/self')).ID;

    // Listen as the manager (its NATS user may read every subject) to what nodes are sent.
    const ca = await readRootCa(m.data);
    const cert = await readNodeCertificate(m.data);
    if (!ca || !cert) throw new Error('manager certificates missing');
    tap = await connect({
      ...nodeClientOptions([`tls://127.0.0.1:${ports[2]}`], {
        nodeId: managerId,
        caPem: ca.certPem,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
      }),
      name: 'test-tap',
    });
    const sub = tap.subscribe('tsswarm.node.*.assignments');
    void (async () => {
      for await (const msg of sub) {
        sent.push({
          node: msg.subject.split('.')[2] ?? '',
          msg: JSON.parse(new TextDecoder().decode(msg.data)) as AssignmentMessage,
        });
      }
    })();
    await tap.flush();

    const token = (await ok('swarm', 'join-token', '-q', 'worker')).trim();
    // As in tls-api.test.ts: the worker's daemon is started by hand and joins through its API.
    const child = spawn(
      process.execPath,
      [
        cliPath,
        '--data-root',
        w.data,
        '--exec-root',
        w.exec,
        'daemon',
        '--exit-on-leave',
        '--advertise-addr',
        '127.0.0.1',
        '--api-port',
        String(ports[5]),
      ],
      { stdio: 'ignore' },
    );
    if (child.pid) pids.add(child.pid);
    const wApi = new ApiClient({ socketPath: join(w.exec, 'tsswarm.sock') });
    await until(() => wApi.ping(), {
      what: 'the worker daemon',
      accept: (up) => up,
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    workerId = (
      await wApi.post<{ NodeID: string }>('/swarm/join', {
        RemoteAddrs: [`127.0.0.1:${ports[0]}`],
        JoinToken: token,
        AdvertiseAddr: '127.0.0.1',
      })
    ).NodeID;
    rememberPids();
    await until(async () => ((await ok('node', 'ls')).match(/Ready/g) ?? []).length, {
      what: 'two ready nodes',
      accept: (n) => n === 2,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
  }, 90_000);

  afterAll(async () => {
    try {
      rememberPids();
      await tap?.close().catch(() => undefined);
      const wApi = new ApiClient({ socketPath: join(w.exec, 'tsswarm.sock') });
      if (existsSync(join(w.exec, 'tsswarm.sock'))) await wApi.post('/swarm/leave').catch(() => 0);
      const m2Api = new ApiClient({ socketPath: join(m2.exec, 'tsswarm.sock') });
      if (existsSync(join(m2.exec, 'tsswarm.sock'))) {
        await m2Api.post('/swarm/leave?force=true').catch(() => 0);
      }
      if (existsSync(join(m.exec, 'tsswarm.sock'))) await cli(m, 'swarm', 'leave', '--force');
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      for (const node of [m, w, m2]) {
        const rt = ContainerRuntime.open({ dataRoot: node.data, execRoot: node.exec });
        for (const c of await rt.list({ all: true }).catch(() => [])) {
          await rt.remove(c.record.Id, { force: true }).catch(() => undefined);
        }
      }
      await rm(base, { recursive: true, force: true });
    }
  }, 90_000);

  it('sends the secret only to the node whose task uses it, and drops it after', async () => {
    const file = join(base, 'token.txt');
    writeFileSync(file, secretText);
    const secretId = (await ok('secret', 'create', 'token', file)).trim();
    await ok(
      'service',
      'create',
      '--name',
      'onworker',
      '--constraint',
      'node.role==worker',
      '--stop-grace-period',
      '1s',
      '--secret',
      'source=token,mode=0400',
      'busybox',
      'sleep',
      '600',
    );
    // A task on the manager node too, so it gets assignments while the secret is in use.
    await ok(
      'service',
      'create',
      '--name',
      'onmanager',
      '--constraint',
      'node.role==manager',
      '--stop-grace-period',
      '1s',
      'busybox',
      'sleep',
      '600',
    );
    const wRuntime = ContainerRuntime.open({ dataRoot: w.data, execRoot: w.exec });
    const [c] = await until(async () => (await wRuntime.list({})).filter((x) => x.state.Running), {
      what: 'the task running on the worker',
      accept: (l) => l.length === 1,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const read = await cli(w, 'exec', c!.record.Id, 'cat', '/run/secrets/token');
    expect(read.stdout).toBe(secretText);

    const data = Buffer.from(secretText).toString('base64');
    const toWorker = sent.filter((s) => s.node === workerId);
    const toManager = sent.filter((s) => s.node === managerId);
    expect(toManager.length).toBeGreaterThan(0);
    expect(toWorker.filter((s) => s.msg.secrets?.some((x) => x.ID === secretId))).toHaveLength(1);
    expect(toWorker.some((s) => JSON.stringify(s.msg).includes(data))).toBe(true);
    for (const s of toManager) {
      expect(s.msg.secrets ?? []).toEqual([]);
      expect(JSON.stringify(s.msg)).not.toContain(data);
    }
    // Nothing of it on the manager node's disk either (it keeps the sealed copy only).
    const mRuntime = ContainerRuntime.open({ dataRoot: m.data, execRoot: m.exec });
    const onManager = await mRuntime.list({ all: true });
    expect(onManager.map((x) => x.record.Config.Labels['com.docker.swarm.service.name'])).toEqual([
      'onmanager',
    ]);
    expect(onManager[0]!.record.Mounts).toEqual([]);

    await ok('service', 'rm', 'onworker');
    await until(
      () => sent.filter((s) => s.node === workerId && s.msg.removedSecrets?.includes(secretId)),
      {
        what: 'the worker told to drop the secret',
        accept: (l) => l.length === 1,
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    await until(() => wRuntime.list({ all: true }), {
      what: 'the task gone from the worker',
      accept: (l) => l.length === 0,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const tasks = await managerApi()
      .get<Task[]>('/tasks?service=onworker')
      .catch(() => []);
    expect(tasks.every((t) => t.NodeID === workerId)).toBe(true);
    expect(await ok('secret', 'rm', 'token')).toBe('token\n');
    await ok('service', 'rm', 'onmanager');
  }, 90_000);

  it('hands the secret key to a manager that joins, and never to a worker', async () => {
    const token = (await ok('swarm', 'join-token', '-q', 'manager')).trim();
    const child = spawn(
      process.execPath,
      [
        cliPath,
        '--data-root',
        m2.data,
        '--exec-root',
        m2.exec,
        'daemon',
        '--exit-on-leave',
        '--advertise-addr',
        '127.0.0.1',
        ...managerPortFlags(ports.slice(7, 11), ports[6]),
      ],
      { stdio: 'ignore' },
    );
    if (child.pid) pids.add(child.pid);
    const m2Api = new ApiClient({ socketPath: join(m2.exec, 'tsswarm.sock') });
    await until(() => m2Api.ping(), {
      what: 'the second manager daemon',
      accept: (up) => up,
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    await m2Api.post('/swarm/join', {
      RemoteAddrs: [`127.0.0.1:${ports[0]}`],
      JoinToken: token,
      AdvertiseAddr: '127.0.0.1',
    });
    rememberPids();
    const keyFile = (dataRoot: string) => join(dataRoot, 'certificates', 'swarm-secrets.key');
    expect(readFileSync(keyFile(m2.data), 'utf8')).toBe(readFileSync(keyFile(m.data), 'utf8'));
    expect(existsSync(keyFile(w.data))).toBe(false);
  }, 90_000);
});
