// A manager's nats-server under supervision: time from start() to healthy, from SIGKILL to
// restarted and healthy, and for a route reload to be applied; plus request/reply round trips
// of a worker through mutual TLS. Loopback only; every process is stopped by PID at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import {
  certificatePaths,
  createRootCa,
  issueCertificate,
  writeNodeCertificate,
  writeRootCa,
} from '../src/ca/index.js';
import {
  defaultNatsServerConfig,
  defaultNatsSupervisorConfig,
  findNatsServer,
  NatsSupervisor,
  nodeClientOptions,
  subjects,
} from '../src/manager/nats/index.js';

const round = (x: number): number => Math.round(x * 100) / 100;

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const s = createServer();
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const binary = await findNatsServer();
if (binary === undefined) {
  console.log(JSON.stringify({ bench: 'nats-supervisor', skipped: 'nats-server not installed' }));
  process.exit(0);
}

const dataRoot = await mkdtemp(join(tmpdir(), 'tsswarm-bench-nats-'));
const ca = await createRootCa();
const manager = await issueCertificate(ca, {
  nodeId: 'm1',
  role: 'manager',
  clusterId: 'bench',
  sans: { ips: ['127.0.0.1'] },
});
const worker = await issueCertificate(ca, { nodeId: 'w1', role: 'worker', clusterId: 'bench' });
await writeRootCa(dataRoot, ca);
await writeNodeCertificate(dataRoot, { certPem: manager.certPem, keyPem: manager.keyPem ?? '' });
const paths = certificatePaths(dataRoot);
const [client = 0, cluster = 0, monitor = 0, other = 0] = await freePorts(4);
const supervisor = new NatsSupervisor({
  server: {
    ...defaultNatsServerConfig(),
    serverName: 'm1',
    clusterName: 'bench',
    client: { host: '127.0.0.1', port: client },
    cluster: { host: '127.0.0.1', port: cluster },
    monitor: { host: '127.0.0.1', port: monitor },
    tls: {
      certFile: paths.nodeCert,
      keyFile: paths.nodeKey,
      caFile: paths.caCert,
      handshakeTimeoutMs: 2000,
    },
    users: [
      { nodeId: 'm1', role: 'manager', clusterId: 'bench' },
      { nodeId: 'w1', role: 'worker', clusterId: 'bench' },
    ],
    pidFile: join(dataRoot, 'nats.pid'),
  },
  supervisor: {
    ...defaultNatsSupervisorConfig(),
    binary,
    stateDir: dataRoot,
    restartInitialDelayMs: 100,
  },
});

try {
  let t = performance.now();
  await supervisor.start();
  const startToHealthyMs = round(performance.now() - t);

  const creds = (cert: { certPem: string; keyPem?: string }, nodeId: string) =>
    nodeClientOptions([`tls://127.0.0.1:${client}`], {
      nodeId,
      caPem: ca.certPem,
      certPem: cert.certPem,
      keyPem: cert.keyPem ?? '',
    });
  t = performance.now();
  const m = await connect(creds(manager, 'm1'));
  const connectMutualTlsMs = round(performance.now() - t);
  const w = await connect(creds(worker, 'w1'));
  const sub = m.subscribe(subjects.fromNode('w1', 'register'), {
    callback: (_e, msg) => msg.respond(msg.data),
  });
  await m.flush();
  const n = 2000;
  t = performance.now();
  for (let i = 0; i < n; i++)
    await w.request(subjects.fromNode('w1', 'register'), 'x', { timeout: 5000 });
  const requestReplyUs = round(((performance.now() - t) / n) * 1000);
  sub.unsubscribe();
  await Promise.all([m.close(), w.close()]);

  const reloaded = performance.now();
  await supervisor.updateRoutes([`nats-route://127.0.0.1:${other}`]);
  const reloadAppliedMs = round(performance.now() - reloaded);

  const restarted = supervisor.waitFor('restarted', 20_000);
  t = performance.now();
  process.kill(supervisor.pid ?? 0, 'SIGKILL');
  const event = await restarted;
  const killToHealthyMs = round(performance.now() - t);

  console.log(
    JSON.stringify({
      bench: 'nats-supervisor',
      natsServer: binary,
      startToHealthyMs,
      connectMutualTlsMs,
      workerRequestReplyUs: requestReplyUs,
      requestReplyRounds: n,
      reloadAppliedMs,
      killToHealthyMs,
      restartDelayMs: event.delayMs,
    }),
  );
} finally {
  await supervisor.stop();
  await rm(dataRoot, { recursive: true, force: true });
}
