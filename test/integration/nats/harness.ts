import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  certificatePaths,
  writeNodeCertificate,
  writeRootCa,
  type NodeIdentity,
} from '../../../src/ca/index.js';
import {
  defaultNatsServerConfig,
  defaultNatsSupervisorConfig,
  findNatsServer,
  NatsSupervisor,
  type NatsServerConfig,
} from '../../../src/manager/nats/index.js';
import type { TestPki } from '../../helpers/certs.js';

/** Ports free right now on 127.0.0.1, all held open together so that they differ. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface TestManager {
  nodeId: string;
  supervisor: NatsSupervisor;
  clientUrl: string;
  routeUrl: string;
  server: NatsServerConfig;
  dataRoot: string;
}

/** Every supervisor and temp dir made through a lab, torn down by `close()` whatever happened. */
export class NatsLab {
  private readonly managers: TestManager[] = [];
  private readonly dirs: string[] = [];

  constructor(private readonly pki: TestPki) {}

  static async binary(): Promise<string | undefined> {
    return findNatsServer();
  }

  async manager(nodeId: string, routes: string[] = []): Promise<TestManager> {
    const dataRoot = await mkdtemp(join(tmpdir(), `tsswarm-nats-${nodeId}-`));
    this.dirs.push(dataRoot);
    const node = this.pki.node(nodeId);
    await writeRootCa(dataRoot, this.pki.ca);
    await writeNodeCertificate(dataRoot, node);
    const paths = certificatePaths(dataRoot);
    const stateDir = join(dataRoot, 'nats');
    await mkdir(stateDir, { recursive: true });
    const [client = 0, cluster = 0, monitor = 0] = await freePorts(3);
    const users: NodeIdentity[] = Object.values(this.pki.nodes).map((n) => ({
      nodeId: n.nodeId,
      role: n.role,
      clusterId: this.pki.clusterId,
    }));
    const server: NatsServerConfig = {
      ...defaultNatsServerConfig(),
      serverName: nodeId,
      clusterName: this.pki.clusterId,
      client: { host: '127.0.0.1', port: client },
      cluster: { host: '127.0.0.1', port: cluster },
      monitor: { host: '127.0.0.1', port: monitor },
      routes,
      tls: {
        certFile: paths.nodeCert,
        keyFile: paths.nodeKey,
        caFile: paths.caCert,
        handshakeTimeoutMs: 2000,
      },
      users,
      pidFile: join(stateDir, 'nats-server.pid'),
    };
    const supervisor = new NatsSupervisor({
      server,
      supervisor: {
        ...defaultNatsSupervisorConfig(),
        stateDir,
        readyTimeoutMs: 10_000,
        stopTimeoutMs: 3_000,
        restartInitialDelayMs: 50,
        restartMaxDelayMs: 1_000,
      },
    });
    const manager: TestManager = {
      nodeId,
      supervisor,
      clientUrl: `tls://127.0.0.1:${client}`,
      routeUrl: `nats-route://127.0.0.1:${cluster}`,
      server,
      dataRoot,
    };
    this.managers.push(manager);
    return manager;
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.managers.map((m) => m.supervisor.stop()));
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}
