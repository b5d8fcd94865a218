import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Node } from '../api/index.js';
import { certificatePaths, type NodeIdentity } from '../ca/index.js';
import { hostPort, type ManagerConfig } from './manager-config.js';
import {
  defaultNatsServerConfig,
  defaultNatsSupervisorConfig,
  NatsSupervisor,
} from './nats/index.js';
import type { MemoryStore } from './store/index.js';

export interface ManagerNatsOptions {
  config: ManagerConfig;
  store: MemoryStore;
  logger: Logger;
}

/**
 * This manager's supervised nats-server, with its users and routes kept in step with the
 * store's nodes: every manager does this, leader or not.
 */
export class ManagerNats {
  private supervisor: NatsSupervisor | undefined;
  private readonly peersAbort = new AbortController();
  private applied = '';
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: ManagerNatsOptions) {}

  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  async start(): Promise<void> {
    const { config, logger } = this.o;
    const { dataRoot, nodeId } = config;
    const paths = certificatePaths(dataRoot);
    const stateDir = join(dataRoot, 'nats');
    await mkdir(stateDir, { recursive: true });
    this.supervisor = new NatsSupervisor({
      server: {
        ...defaultNatsServerConfig(),
        serverName: nodeId,
        clusterName: config.clusterId,
        client: config.natsClient,
        cluster: config.natsCluster,
        routes: config.natsRoutes ?? [],
        clientAdvertise: hostPort(config.advertiseAddr, config.natsClient.port),
        clusterAdvertise: hostPort(config.advertiseAddr, config.natsCluster.port),
        monitor: config.natsMonitor,
        tls: {
          certFile: paths.nodeCert,
          keyFile: paths.nodeKey,
          caFile: paths.caCert,
          handshakeTimeoutMs: 2000,
        },
        users: [{ nodeId, role: 'manager', clusterId: config.clusterId }],
        pidFile: join(stateDir, 'nats-server.pid'),
      },
      supervisor: { ...defaultNatsSupervisorConfig(), stateDir },
      logger,
    });
    await this.supervisor.start();
  }

  /** Every manager keeps its nats-server's routes and users in step with the store's nodes. */
  watchPeers(): void {
    const watcher = this.o.store.watch({ tables: ['nodes'], signal: this.peersAbort.signal });
    void (async () => {
      try {
        for await (const e of watcher) {
          void e;
          this.syncing = this.syncing
            .then(() => this.sync())
            .catch((err: unknown) => this.o.logger.warn({ err }, 'nats-server reconfigure failed'));
        }
      } catch (err) {
        if (!this.stopped) this.o.logger.warn({ err }, 'node watch ended');
      }
    })();
  }

  stopWatching(): void {
    this.stopped = true;
    this.peersAbort.abort();
  }

  async stop(): Promise<void> {
    this.stopWatching();
    await this.supervisor?.stop();
  }

  /** The store's managers (with their endpoints), this one included once it is recorded. */
  private managerNodes(): Node[] {
    return this.o.store
      .view((tx) => tx.nodes.find({ by: 'all' }))
      .filter((n) => n.Spec.Role === 'manager' && n.ManagerStatus?.NatsAddr);
  }

  /** NATS URLs of every manager's server, for workers and joiners. */
  urls(): string[] {
    const urls = this.managerNodes().map((n) => `tls://${n.ManagerStatus?.NatsAddr}`);
    return urls.length > 0
      ? urls
      : [`tls://${hostPort(this.o.config.advertiseAddr, this.o.config.natsClient.port)}`];
  }

  routes(exceptSelf: boolean): string[] {
    return this.managerNodes()
      .filter((n) => !exceptSelf || n.ID !== this.o.config.nodeId)
      .map((n) => `nats-route://${n.ManagerStatus?.NatsClusterAddr}`);
  }

  /**
   * Every node of the store is a NATS user (so its agent may connect to any manager's server),
   * and every other manager's server is a route. Reloads nats-server only when that changed.
   */
  async sync(): Promise<void> {
    // Identities follow the certificates a node may hold, not its wanted role: every node has
    // its worker one, managers (and nodes between promotion and demotion) the manager one too,
    // so a node whose role changes keeps its session until it has its new certificate.
    const { clusterId, nodeId } = this.o.config;
    const users: NodeIdentity[] = this.o.store
      .view((tx) => tx.nodes.find({ by: 'all' }))
      .flatMap((n) => [
        { nodeId: n.ID, role: 'worker' as const, clusterId },
        ...(n.ManagerStatus ? [{ nodeId: n.ID, role: 'manager' as const, clusterId }] : []),
      ]);
    if (!users.some((u) => u.nodeId === nodeId && u.role === 'manager')) {
      users.push({ nodeId, role: 'manager', clusterId });
    }
    const known = this.routes(true);
    // Until the store names the managers (a joiner catching up), keep the routes it came with.
    const routes = this.managerNodes().length > 0 ? known : (this.o.config.natsRoutes ?? []);
    const key = JSON.stringify({ users, routes });
    if (key === this.applied || !this.supervisor) return;
    await this.supervisor.reconfigure({ users, routes });
    this.applied = key;
  }
}
