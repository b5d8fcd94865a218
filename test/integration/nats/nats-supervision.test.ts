import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { connect, type NatsConnection, type Status } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa, issueCertificate } from '../../../src/ca/index.js';
import {
  monitorUrl,
  nodeClientOptions,
  renderNatsConfig,
  subjects,
} from '../../../src/manager/nats/index.js';
import { testPki, type TestPki } from '../../helpers/certs.js';
import { until } from '../../helpers/until.js';
import { NatsLab, type TestManager } from './harness.js';

const binary = await NatsLab.binary();
const ci = process.env['CI'] === 'true';

// Without the Debian package there is nothing to supervise; CI installs it (scripts/setup.sh).
describe.skipIf(binary === undefined && !ci)('nats-server supervision (needs nats-server)', () => {
  let pki: TestPki;
  let lab: NatsLab;
  let a: TestManager;
  let b: TestManager;
  const clients: NatsConnection[] = [];

  async function client(
    nodeId: string,
    server: TestManager,
    reconnect = false,
  ): Promise<NatsConnection> {
    const node = pki.node(nodeId);
    const nc = await connect({
      ...nodeClientOptions([server.clientUrl], {
        nodeId,
        caPem: pki.ca.certPem,
        certPem: node.certPem,
        keyPem: node.keyPem,
      }),
      reconnect,
      reconnectTimeWait: 50,
      timeout: 5_000,
    });
    clients.push(nc);
    return nc;
  }

  async function routeCount(m: TestManager): Promise<number> {
    const res = await fetch(monitorUrl(m.server.monitor, '/routez'));
    return ((await res.json()) as { num_routes: number }).num_routes;
  }

  /** Publishes until the subscriber sees it: interest crosses a route asynchronously. */
  async function deliverAcross(
    pub: NatsConnection,
    sub: NatsConnection,
    subject: string,
  ): Promise<string> {
    const s = sub.subscribe(subject);
    await sub.flush();
    const received = (async () => {
      for await (const m of s) return m.string();
      return '';
    })();
    let n = 0;
    const got = await until(
      async () => {
        pub.publish(subject, `hello ${n++}`);
        await pub.flush();
        return Promise.race([
          received,
          new Promise<undefined>((r) => setTimeout(r, 50, undefined)),
        ]);
      },
      { what: `a message on ${subject}`, timeoutMs: 10_000 },
    );
    s.unsubscribe();
    return got;
  }

  beforeAll(async () => {
    pki = await testPki(['m1', 'm2', 'w1', 'w2'], { workers: ['w1', 'w2'] });
    lab = new NatsLab(pki);
    a = await lab.manager('m1');
    b = await lab.manager('m2');
    await Promise.all([a.supervisor.start(), b.supervisor.start()]);
    // Routes arrive later than start, as when a manager joins: a reload, not a restart.
    const pidBefore = a.supervisor.pid;
    await a.supervisor.updateRoutes([b.routeUrl]);
    expect(a.supervisor.pid).toBe(pidBefore);
    await until(async () => (await routeCount(a)) >= 1 && (await routeCount(b)) >= 1, {
      what: 'a route between m1 and m2',
      timeoutMs: 10_000,
    });
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await lab?.close();
  });

  it('writes a config that nats-server itself accepts', async () => {
    const { stdout, stderr } = await promisify(execFile)(binary ?? 'nats-server', [
      '-t',
      '-c',
      a.supervisor.configFile,
    ]);
    expect(stdout + stderr).toMatch(/is valid/);
  });

  it('carries a message from a client of m1 to a client of m2 across the route', async () => {
    const pub = await client('m1', a);
    const sub = await client('m2', b);
    expect(await deliverAcross(pub, sub, 'tsswarm.test.route')).toMatch(/^hello \d+$/);
  });

  it('lets a worker use its own subjects and inboxes, both ways', async () => {
    const manager = await client('m2', b);
    const worker = await client('w1', a);
    // manager → worker over the route (assignments)
    expect(await deliverAcross(manager, worker, subjects.toNode('w1', 'assignments'))).toMatch(
      /hello/,
    );
    // worker → manager (status)
    expect(await deliverAcross(worker, manager, subjects.fromNode('w1', 'status'))).toMatch(
      /hello/,
    );
    // worker's request, answered by a manager: the reply lands in _INBOX.w1.…
    const local = await client('m1', a);
    const responder = local.subscribe(subjects.fromNode('w1', 'register'), {
      callback: (_err, msg) => msg.respond(`welcome ${msg.string()}`),
    });
    await local.flush();
    const reply = await worker.request(subjects.fromNode('w1', 'register'), 'w1', {
      timeout: 5_000,
    });
    expect(reply.string()).toBe('welcome w1');
    responder.unsubscribe();
    // manager's request, answered by the worker (allow_responses)
    const handler = worker.subscribe(subjects.toNode('w1', 'ping'), {
      callback: (_e, msg) => msg.respond('pong'),
    });
    await worker.flush();
    const pong = await local.request(subjects.toNode('w1', 'ping'), '', { timeout: 5_000 });
    expect(pong.string()).toBe('pong');
    handler.unsubscribe();
  });

  it('refuses a worker that listens to or speaks for another node', async () => {
    const worker = await client('w1', a);
    const errors: string[] = [];
    void (async () => {
      for await (const s of worker.status() as AsyncIterable<Status>) {
        // nats.js reports a refused publish as a status: code in data, subject in permissionContext.
        const ctx = (s as Status & { permissionContext?: { operation: string; subject: string } })
          .permissionContext;
        if (s.type === 'error' && ctx !== undefined)
          errors.push(`${String(s.data)} ${ctx.operation} ${ctx.subject}`);
      }
    })();
    const spy = worker.subscribe(subjects.allToNode('w2'));
    const spied = (async () => {
      try {
        for await (const _m of spy) return 'received';
        return 'closed';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(await spied).toMatch(/Permissions Violation for Subscription to "tsswarm\.node\.w2\.>"/);

    const manager = await client('m1', a);
    const watch = manager.subscribe(subjects.fromNode('w2', 'status'));
    let forged = 0;
    void (async () => {
      for await (const _m of watch) forged++;
    })();
    await manager.flush();
    worker.publish(subjects.fromNode('w2', 'status'), 'i am w2');
    await worker.flush();
    await until(
      () => errors.includes('PERMISSIONS_VIOLATION publish tsswarm.dispatcher.w2.status'),
      { what: 'the publish violation reported to the worker', timeoutMs: 5_000 },
    );
    // The manager's flush orders it after anything the server would have routed to it.
    await manager.flush();
    expect(forged).toBe(0);
    // Nor may a worker read other nodes' replies.
    const snoop = worker.subscribe('_INBOX.w2.>');
    await expect(
      (async () => {
        for await (const _m of snoop) return 'received';
        return 'closed';
      })(),
    ).rejects.toThrow(/Permissions Violation/);
  });

  it('refuses clients without a certificate of the cluster CA', async () => {
    await expect(
      connect({
        servers: a.clientUrl,
        tls: { ca: pki.ca.certPem },
        reconnect: false,
        timeout: 5_000,
      }),
    ).rejects.toThrow();
    const other = await createRootCa({ commonName: 'other-ca' });
    const stranger = await issueCertificate(other, {
      nodeId: 'm1',
      role: 'manager',
      clusterId: pki.clusterId,
    });
    await expect(
      connect({
        servers: a.clientUrl,
        tls: { ca: pki.ca.certPem, cert: stranger.certPem, key: stranger.keyPem ?? '' },
        reconnect: false,
        timeout: 5_000,
      }),
    ).rejects.toThrow();
  });

  it('admits a node once it is added as a user, and drops it when removed', async () => {
    const newcomer = (await testPki(['w3'], { workers: ['w3'], clusterId: pki.clusterId })).node(
      'w3',
    );
    const options = nodeClientOptions([a.clientUrl], {
      nodeId: 'w3',
      caPem: pki.ca.certPem,
      certPem: newcomer.certPem,
      keyPem: newcomer.keyPem,
    });
    // Signed by our CA, but not (yet) a node of the cluster: no user, no entry.
    await expect(connect({ ...options, reconnect: false, timeout: 5_000 })).rejects.toThrow(
      /AUTHORIZATION_VIOLATION|Authorization Violation/i,
    );
    const base = Object.values(pki.nodes).map((n) => ({
      nodeId: n.nodeId,
      role: n.role,
      clusterId: pki.clusterId,
    }));
    await a.supervisor.reconfigure({
      users: [...base, { nodeId: 'w3', role: 'worker', clusterId: pki.clusterId }],
    });
    const w3 = await connect({ ...options, reconnect: false, timeout: 5_000 });
    clients.push(w3);
    await w3.flush();
    // Removing the node (docker node rm) closes its live connection at the reload.
    await a.supervisor.reconfigure({ users: base });
    await w3.closed();
    expect(w3.isClosed()).toBe(true);
  });

  it('restarts a nats-server killed with SIGKILL, and a reconnecting client resumes', async () => {
    const sub = await client('m2', b, true);
    const pub = await client('m1', a);
    expect(await deliverAcross(pub, sub, 'tsswarm.test.before')).toMatch(/hello/);
    const reconnected = (async () => {
      for await (const s of sub.status() as AsyncIterable<Status>)
        if (s.type === 'reconnect') return true;
      return false;
    })();
    const oldPid = b.supervisor.pid;
    expect(oldPid).toBeDefined();
    const exited = b.supervisor.waitFor('exited', 10_000);
    const restarted = b.supervisor.waitFor('restarted', 20_000);
    process.kill(oldPid ?? 0, 'SIGKILL');
    expect(await exited).toMatchObject({ pid: oldPid, signal: 'SIGKILL', expected: false });
    const event = await restarted;
    expect(event.pid).not.toBe(oldPid);
    expect(b.supervisor.pid).toBe(event.pid);
    expect(b.supervisor.state).toBe('running');
    expect(await reconnected).toBe(true);
    // m1's explicit route to m2 reconnects on its own; the subscription is replayed by nats.js.
    expect(await deliverAcross(pub, sub, 'tsswarm.test.after')).toMatch(/hello/);
  });

  it('replaces a nats-server left running by a daemon that died', async () => {
    const c = await lab.manager('m1');
    await mkdir(dirname(c.supervisor.configFile), { recursive: true });
    await writeFile(c.supervisor.configFile, renderNatsConfig(c.server));
    const orphan = spawn(binary ?? 'nats-server', ['-c', c.supervisor.configFile], {
      stdio: 'ignore',
    });
    const orphanExit = new Promise<NodeJS.Signals | null>((resolve) =>
      orphan.once('exit', (_code, signal) => resolve(signal)),
    );
    try {
      await until(
        async () => {
          const res = await fetch(monitorUrl(c.server.monitor, '/healthz')).catch(() => undefined);
          return res?.ok === true;
        },
        { what: 'the orphan to be healthy', timeoutMs: 10_000 },
      );
      await c.supervisor.start();
      expect(await orphanExit).toBe('SIGKILL');
      expect(c.supervisor.pid).not.toBe(orphan.pid);
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
      await c.supervisor.stop();
    }
  });

  it('stops the server with SIGTERM on shutdown', async () => {
    const pid = b.supervisor.pid;
    const exited = b.supervisor.waitFor('exited', 10_000);
    await b.supervisor.stop();
    expect(await exited).toMatchObject({ pid, expected: true });
    expect(b.supervisor.state).toBe('stopped');
    expect(() => process.kill(pid ?? 0, 0)).toThrow();
  });
});
