import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NatsConnection } from 'nats';
import {
  defaultClusterSpec,
  DEFAULT_CLUSTER_NAME,
  ErrorCode,
  generateId,
  nsToMs,
  TsswarmError,
  type NodeDescription,
} from '../api/index.js';
import {
  certificatePaths,
  createRootCa,
  generateJoinTokens,
  issueCertificate,
  matchJoinToken,
  readNodeCertificate,
  readRootCa,
  writeNodeCertificate,
  writeRootCa,
  type NodeIdentity,
  type RootCa,
} from './ca/index.js';
import { ControlApi } from './controlapi/index.js';
import { Dispatcher, defaultDispatcherConfig, natsBus } from './dispatcher/index.js';
import { LeaderLoops } from './leader-loops.js';
import {
  defaultNatsServerConfig,
  defaultNatsSupervisorConfig,
  nodeClientOptions,
  NatsSupervisor,
  type HostPort,
} from './nats/index.js';
import {
  defaultRaftConfig,
  openFileStores,
  RaftNode,
  TcpTransport,
  type FileStores,
} from './raft/index.js';
import { MemoryStore, type ApplyResult } from './store/index.js';

/** What a joining node sends to a manager (`POST /cluster/join`). */
export interface JoinRequest {
  token: string;
  /** SPKI PEM of the key the joiner generated; the private key never leaves it. */
  publicKeyPem: string;
  description: NodeDescription;
  addr: string;
}

/** What the manager answers: the joiner's identity, its certificate, and where to connect. */
export interface JoinAnswer {
  NodeID: string;
  ClusterID: string;
  Role: 'manager' | 'worker';
  CertPem: string;
  CaPem: string;
  NatsUrls: string[];
}

export interface ManagerConfig {
  dataRoot: string;
  nodeId: string;
  clusterId: string;
  /** Address other nodes use to reach this one (raft, NATS). */
  advertiseAddr: string;
  raft: HostPort;
  natsClient: HostPort;
  natsCluster: HostPort;
  natsMonitor: HostPort;
  description: NodeDescription;
  /** Raft election timeout; lower only in tests. */
  electionTimeoutMs: number;
  leaderWaitMs: number;
}

/** Creates the cluster's root CA and this node's certificate under the data root (swarm init). */
export async function initManagerCredentials(c: {
  dataRoot: string;
  nodeId: string;
  clusterId: string;
  advertiseAddr: string;
}): Promise<void> {
  const ca = await createRootCa({ commonName: 'swarm-ca' });
  const cert = await issueCertificate(ca, {
    nodeId: c.nodeId,
    role: 'manager',
    clusterId: c.clusterId,
    sans: { dns: ['localhost'], ips: [...new Set(['127.0.0.1', c.advertiseAddr])] },
  });
  await writeRootCa(c.dataRoot, ca);
  await writeNodeCertificate(c.dataRoot, { certPem: cert.certPem, keyPem: cert.keyPem ?? '' });
}

/**
 * The manager role of a node: raft over the file stores with the memory store as its FSM, the
 * supervised nats-server, and, while this node leads, the leader-only loops (orchestrators and
 * scheduler) and the dispatcher. The control API reads the local store and writes through raft.
 *
 *   raft (TCP mTLS) ──commits──▶ MemoryStore ◀── ControlApi (HTTP handlers)
 *        │ leadership                 │ watch
 *        ▼                            ▼
 *   LeaderLoops + Dispatcher ──NATS (nats-server child)──▶ workers
 */
export class Manager {
  readonly store = new MemoryStore();
  readonly control = new ControlApi(this.store);
  private raft: RaftNode<ApplyResult> | undefined;
  private transport: TcpTransport | undefined;
  private stores: FileStores | undefined;
  private nats: NatsSupervisor | undefined;
  private leaderNc: NatsConnection | undefined;
  private dispatcher: Dispatcher | undefined;
  private loops: LeaderLoops | undefined;
  private leaderChange: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private ca: RootCa | undefined;
  private stopped = false;

  constructor(
    readonly config: ManagerConfig,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'manager', 'node.id': config.nodeId });
  }

  get natsUrl(): string {
    const host =
      this.config.natsClient.host === '0.0.0.0' ? '127.0.0.1' : this.config.natsClient.host;
    return `tls://${host}:${this.config.natsClient.port}`;
  }

  isLeader(): boolean {
    return this.raft?.isLeader() ?? false;
  }

  async start(): Promise<void> {
    const { dataRoot, nodeId } = this.config;
    const ca = await readRootCa(dataRoot);
    const cert = await readNodeCertificate(dataRoot);
    if (!ca || !('keyPem' in ca) || !cert) {
      throw new TsswarmError(ErrorCode.DataCorrupt, `no manager certificates under ${dataRoot}`);
    }
    this.ca = ca;
    const raftDir = join(dataRoot, 'raft');
    await mkdir(raftDir, { recursive: true });
    this.stores = openFileStores(raftDir);
    const advertise = `${this.config.advertiseAddr}:${this.config.raft.port}`;
    this.transport = await TcpTransport.listen({
      listen: `${this.config.raft.host}:${this.config.raft.port}`,
      advertise,
      caPem: ca.certPem,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      logger: this.log,
    });
    const raft = new RaftNode<ApplyResult>({
      config: { ...defaultRaftConfig(nodeId), electionTimeoutMs: this.config.electionTimeoutMs },
      fsm: this.store,
      logStore: this.stores.logStore,
      stableStore: this.stores.stableStore,
      snapshotStore: this.stores.snapshotStore,
      transport: this.transport,
      logger: this.log,
      bootstrap: { servers: [{ id: nodeId, address: advertise, suffrage: 'voter' }] },
    });
    this.raft = raft;
    this.store.setProposer({ propose: (d) => raft.propose(d) });
    raft.subscribe((e) => {
      if (e.type !== 'leadership') return;
      this.leaderChange = this.leaderChange
        .then(() => (e.isLeader ? this.becomeLeader() : this.stopLeading()))
        .catch((err: unknown) => {
          // A leader that cannot run its loops must not keep leading (swarmkit's mistake).
          this.log.error({ err }, 'leader start failed; stepping down');
          void this.stopLeading();
        });
    });

    const paths = certificatePaths(dataRoot);
    const stateDir = join(dataRoot, 'nats');
    await mkdir(stateDir, { recursive: true });
    this.nats = new NatsSupervisor({
      server: {
        ...defaultNatsServerConfig(),
        serverName: nodeId,
        clusterName: this.config.clusterId,
        client: this.config.natsClient,
        cluster: this.config.natsCluster,
        monitor: this.config.natsMonitor,
        tls: {
          certFile: paths.nodeCert,
          keyFile: paths.nodeKey,
          caFile: paths.caCert,
          handshakeTimeoutMs: 2000,
        },
        users: [{ nodeId, role: 'manager', clusterId: this.config.clusterId }],
        pidFile: join(stateDir, 'nats-server.pid'),
      },
      supervisor: { ...defaultNatsSupervisorConfig(), stateDir },
      logger: this.log,
    });
    await this.nats.start();
    raft.start();
    await this.waitForLeader();
  }

  natsPid(): number | undefined {
    return this.nats?.pid;
  }

  private async waitForLeader(): Promise<void> {
    const deadline = Date.now() + this.config.leaderWaitMs;
    while (Date.now() < deadline) {
      if (this.raft?.isLeader() && this.dispatcher) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new TsswarmError(ErrorCode.Unavailable, 'raft elected no leader in time');
  }

  private async becomeLeader(): Promise<void> {
    if (this.stopped || this.dispatcher) return;
    await this.raft?.readBarrier();
    await this.ensureCluster();
    // After a restart only this manager is a user of its nats-server: the joined nodes come back.
    await this.syncNatsUsers();
    const { connect } = await import('nats');
    const cert = await readNodeCertificate(this.config.dataRoot);
    if (!cert || !this.ca) throw new Error('certificates vanished');
    this.leaderNc = await connect({
      ...nodeClientOptions([this.natsUrl], {
        nodeId: this.config.nodeId,
        caPem: this.ca.certPem,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
      }),
      name: `${this.config.nodeId}-dispatcher`,
    });
    const cluster = this.control.getCluster();
    this.dispatcher = new Dispatcher({
      store: this.store,
      bus: natsBus(this.leaderNc),
      config: {
        ...defaultDispatcherConfig(),
        heartbeatPeriodMs: nsToMs(cluster.Spec.Dispatcher.HeartbeatPeriod),
      },
      logger: this.log,
    });
    this.dispatcher.start();
    this.loops = new LeaderLoops({
      store: this.store,
      logger: this.log,
      onFailing: () => {
        // Start the leader components afresh from the store, as a new leader would.
        this.leaderChange = this.leaderChange
          .then(() => this.stopLeading())
          .then(() => (this.raft?.isLeader() && !this.stopped ? this.becomeLeader() : undefined))
          .catch((err: unknown) => this.log.error({ err }, 'leader restart failed'));
      },
    });
    this.loops.start();
    this.log.info('leading: orchestrators, scheduler and dispatcher running');
  }

  private async stopLeading(): Promise<void> {
    this.dispatcher?.stop();
    this.dispatcher = undefined;
    this.loops?.stop();
    this.loops = undefined;
    const nc = this.leaderNc;
    this.leaderNc = undefined;
    await nc?.close().catch(() => undefined);
  }

  /** The first leader of a new cluster writes the cluster object and its own node. */
  private async ensureCluster(): Promise<void> {
    const ca = this.ca;
    if (!ca) return;
    const { nodeId, clusterId, description, advertiseAddr } = this.config;
    const res = await this.store.update((tx) => {
      if (tx.clusters.find({ by: 'all' }).length === 0) {
        const tokens = generateJoinTokens(ca.digest);
        tx.clusters.create({
          ID: clusterId,
          Spec: { ...defaultClusterSpec(), Name: DEFAULT_CLUSTER_NAME },
          TLSInfo: { TrustRoot: ca.certPem, CertIssuerSubject: '', CertIssuerPublicKey: '' },
          RootRotationInProgress: false,
          DefaultAddrPool: ['10.0.0.0/8'],
          SubnetSize: 24,
          DataPathPort: 4789,
          JoinTokens: { Worker: tokens.worker, Manager: tokens.manager },
        });
      }
      const managerStatus = {
        Leader: true,
        Reachability: 'reachable' as const,
        Addr: `${advertiseAddr}:${this.config.raft.port}`,
      };
      const n = tx.nodes.get(nodeId);
      if (!n) {
        tx.nodes.create({
          ID: nodeId,
          Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
          Description: description,
          Status: { State: 'unknown', Addr: advertiseAddr },
          ManagerStatus: managerStatus,
        });
      } else if (!n.ManagerStatus?.Leader) {
        tx.nodes.update({ ...n, ManagerStatus: managerStatus });
      }
    });
    if (!res.ok) throw new Error(`cluster bootstrap refused: ${res.error.message}`);
  }

  /**
   * Admits a node: checks the token secret, records the node through raft, signs its key.
   * Only the leader admits (one writer of the node list); manager joins are not served yet.
   */
  async join(req: JoinRequest): Promise<JoinAnswer> {
    if (!this.isLeader() || !this.ca) {
      throw new TsswarmError(
        ErrorCode.NotLeader,
        'this manager is not the leader: join through the leader',
      );
    }
    const cluster = this.control.getCluster();
    const match = matchJoinToken(req.token, {
      worker: cluster.JoinTokens.Worker,
      manager: cluster.JoinTokens.Manager,
    });
    if (!match.ok) throw new TsswarmError(ErrorCode.PermissionDenied, match.message);
    if (match.role === 'manager') {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        'joining as a manager is not supported yet: use the worker join token',
      );
    }
    const nodeId = generateId(randomBytes);
    const cert = await issueCertificate(this.ca, {
      nodeId,
      role: match.role,
      clusterId: this.config.clusterId,
      publicKeyPem: req.publicKeyPem,
      ...(req.addr ? { sans: { ips: [req.addr] } } : {}),
    });
    const res = await this.store.update((tx) => {
      tx.nodes.create({
        ID: nodeId,
        Spec: { Labels: {}, Role: match.role, Availability: 'active' },
        Description: req.description,
        Status: { State: 'unknown', Addr: req.addr },
      });
    });
    if (!res.ok) throw res.error;
    await this.syncNatsUsers();
    this.log.info({ 'join.node': nodeId, 'join.role': match.role }, 'node joined');
    return {
      NodeID: nodeId,
      ClusterID: this.config.clusterId,
      Role: match.role,
      CertPem: cert.certPem,
      CaPem: this.ca.certPem,
      NatsUrls: [`tls://${this.config.advertiseAddr}:${this.config.natsClient.port}`],
    };
  }

  /** Every node of the store is a NATS user, so a joined worker's agent may connect. */
  private async syncNatsUsers(): Promise<void> {
    const users: NodeIdentity[] = this.store
      .view((tx) => tx.nodes.find({ by: 'all' }))
      .map((n) => ({ nodeId: n.ID, role: n.Spec.Role, clusterId: this.config.clusterId }));
    if (!users.some((u) => u.nodeId === this.config.nodeId)) {
      users.push({ nodeId: this.config.nodeId, role: 'manager', clusterId: this.config.clusterId });
    }
    await this.nats?.reconfigure({ users });
  }

  setHeartbeatPeriod(ms: number): void {
    this.dispatcher?.setHeartbeatPeriod(ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await bounded(this.leaderChange, 5_000);
    await bounded(this.stopLeading(), 5_000);
    this.raft?.stop();
    await bounded(this.transport?.close(), 2_000);
    this.stores?.close();
    await this.nats?.stop();
  }
}

/** Shutdown steps must not hang the daemon: each gets a deadline, then we move on. */
async function bounded(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}
