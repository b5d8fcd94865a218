import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NatsConnection } from 'nats';
import {
  defaultClusterSpec,
  DEFAULT_CLUSTER_NAME,
  ErrorCode,
  generateId,
  nsToMs,
  invalidArgument,
  TsswarmError,
  type JoinAnswer,
  type JoinRequest,
  type ManagerPorts,
  type ManagerStatus,
  type Node,
  type NodeRole,
  type Task,
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
} from '../ca/index.js';
import {
  dispatchSubjects,
  dispatchTopics,
  type LogsChunk,
  type LogsRequest,
  type ServiceLogLine,
  type PromoteRequest,
} from '../api/dispatch.js';
import { ControlApi } from './controlapi/index.js';
import { generateSecretKey, loadOrCreateSecretKey, writeSecretKey } from './secrets/index.js';
import { Dispatcher, defaultDispatcherConfig, natsBus } from './dispatcher/index.js';
import { LeaderLoops } from './leader-loops.js';
import { RaftMembership } from './membership.js';
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

export type { JoinAnswer, JoinRequest, ManagerPorts } from '../api/index.js';

export interface ManagerConfig {
  dataRoot: string;
  nodeId: string;
  clusterId: string;
  /** Address other nodes use to reach this one (raft, NATS). */
  advertiseAddr: string;
  apiPort: number;
  raft: HostPort;
  natsClient: HostPort;
  natsCluster: HostPort;
  natsMonitor: HostPort;
  description: NodeDescription;
  /** Raft election timeout; lower only in tests. */
  electionTimeoutMs: number;
  leaderWaitMs: number;
  /**
   * init: bootstrap a one-voter raft and wait to lead; join: start empty, wait for the leader to
   * add this node; restart: recover from disk, and serve even while no leader is known;
   * force-new-cluster: recover from disk as the only raft voter (the others lost), then demote
   * the other managers in the store.
   */
  mode: 'init' | 'join' | 'restart' | 'force-new-cluster';
  /** Route URLs to start nats-server with, before the store names the managers (join). */
  natsRoutes?: string[];
  /** Raft addresses of the servers, before the log names them (join). */
  raftPeers?: Record<string, string>;
}

const hostPort = (host: string, port: number): string =>
  isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;

/** A manager's entry before raft has heard from it. */
function newManagerStatus(addr: string, ports: ManagerPorts): ManagerStatus {
  return {
    Leader: false,
    Reachability: 'unknown',
    Addr: hostPort(addr, ports.api),
    RaftAddr: hostPort(addr, ports.raft),
    NatsAddr: hostPort(addr, ports.nats),
    NatsClusterAddr: hostPort(addr, ports.natsCluster),
  };
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
  await writeSecretKey(c.dataRoot, generateSecretKey());
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
  private clientNc: Promise<NatsConnection> | undefined;
  private dispatcher: Dispatcher | undefined;
  private loops: LeaderLoops | undefined;
  private membership: RaftMembership | undefined;
  private readonly peersAbort = new AbortController();
  private natsApplied = '';
  private natsSync: Promise<void> = Promise.resolve();
  private leaderChange: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private ca: RootCa | undefined;
  /** Seals secrets; handed to managers that join, never to workers. */
  private secretKey: Buffer | undefined;
  private stopped = false;
  /** Set once start() has a leader (or gave up waiting for one): reads are current from then. */
  started = false;
  /** Set until the first leadership after a forced new cluster has demoted the lost managers. */
  private demoteLostManagers: boolean;

  constructor(
    readonly config: ManagerConfig,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'manager', 'node.id': config.nodeId });
    this.demoteLostManagers = config.mode === 'force-new-cluster';
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
    this.secretKey = await loadOrCreateSecretKey(dataRoot);
    this.control.files.setKey(this.secretKey);
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
      ...(this.config.raftPeers ? { peerAddresses: this.config.raftPeers } : {}),
      ...(this.config.mode === 'force-new-cluster'
        ? { forceNewCluster: { reason: 'swarm init --force-new-cluster' } }
        : {}),
      ...(this.config.mode === 'init'
        ? {
            bootstrap: {
              servers: [{ id: nodeId, address: advertise, suffrage: 'voter' as const }],
            },
          }
        : {}),
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
        routes: this.config.natsRoutes ?? [],
        clientAdvertise: hostPort(this.config.advertiseAddr, this.config.natsClient.port),
        clusterAdvertise: hostPort(this.config.advertiseAddr, this.config.natsCluster.port),
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
    this.watchPeers();
    await this.waitForLeader(this.config.mode !== 'restart');
  }

  /** Every manager keeps its nats-server's routes and users in step with the store's nodes. */
  private watchPeers(): void {
    const watcher = this.store.watch({ tables: ['nodes'], signal: this.peersAbort.signal });
    void (async () => {
      try {
        for await (const e of watcher) {
          void e;
          this.natsSync = this.natsSync
            .then(() => this.syncNats())
            .catch((err: unknown) => this.log.warn({ err }, 'nats-server reconfigure failed'));
        }
      } catch (err) {
        if (!this.stopped) this.log.warn({ err }, 'node watch ended');
      }
    })();
  }

  /** The store's managers (with their endpoints), this one included once it is recorded. */
  private managerNodes(): Node[] {
    return this.store
      .view((tx) => tx.nodes.find({ by: 'all' }))
      .filter((n) => n.Spec.Role === 'manager' && n.ManagerStatus?.NatsAddr);
  }

  /** NATS URLs of every manager's server, for workers and joiners. */
  natsUrls(): string[] {
    const urls = this.managerNodes().map((n) => `tls://${n.ManagerStatus?.NatsAddr}`);
    return urls.length > 0
      ? urls
      : [`tls://${hostPort(this.config.advertiseAddr, this.config.natsClient.port)}`];
  }

  private natsRoutes(exceptSelf: boolean): string[] {
    return this.managerNodes()
      .filter((n) => !exceptSelf || n.ID !== this.config.nodeId)
      .map((n) => `nats-route://${n.ManagerStatus?.NatsClusterAddr}`);
  }

  /** The TLS API address of the leader when it is another manager (forwarding writes). */
  leaderApiAddr(): string | undefined {
    const l = this.raft?.leader();
    if (!l || l.id === this.config.nodeId) return undefined;
    return this.store.view((tx) => tx.nodes.get(l.id))?.ManagerStatus?.Addr;
  }

  /** Resolves once the local store has applied `index` (read-your-writes after forwarding). */
  async waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.store.index >= index) return true;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const w = this.store.watch({ types: ['commit', 'reset'], signal: abort.signal });
      if (this.store.index >= index) return true;
      for await (const e of w) {
        if ('index' in e && e.index >= index) return true;
      }
      return this.store.index >= index;
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  natsPid(): number | undefined {
    return this.nats?.pid;
  }

  /**
   * Waits until a leader is known (and, when it is this node, leads with its dispatcher). A
   * restarted manager of a cluster that lost its quorum still serves reads, so it only warns.
   */
  private async waitForLeader(strict: boolean): Promise<void> {
    const deadline = Date.now() + this.config.leaderWaitMs;
    while (Date.now() < deadline) {
      const leader = this.raft?.leader();
      const s = this.raft?.stats();
      // A follower has caught up once it applied what the leader said is committed: before
      // that, a restarted manager's store is what its snapshot held, and reads would go back
      // in time.
      const caughtUp = s !== undefined && s.commitIndex > 0 && s.appliedIndex >= s.commitIndex;
      if (leader && (leader.id === this.config.nodeId ? this.dispatcher : caughtUp)) {
        this.started = true;
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.started = true;
    if (strict) throw new TsswarmError(ErrorCode.Unavailable, 'raft elected no leader in time');
    this.log.warn('no raft leader known yet: serving the local store, writes will fail');
  }

  private async becomeLeader(): Promise<void> {
    if (this.stopped || this.dispatcher) return;
    await this.raft?.readBarrier();
    await this.ensureCluster();
    if (this.demoteLostManagers) await this.demoteOtherManagers();
    await this.syncNats();
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
      openSecret: (secret) => this.control.files.openSecret(secret),
      config: {
        ...defaultDispatcherConfig(),
        heartbeatPeriodMs: nsToMs(cluster.Spec.Dispatcher.HeartbeatPeriod),
      },
      logger: this.log,
      onPromote: (nodeId, req) => this.promote(nodeId, req),
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
    const raft = this.raft;
    if (raft) {
      this.membership = new RaftMembership({
        selfId: this.config.nodeId,
        store: this.store,
        raft,
        unreachableAfterMs: this.config.electionTimeoutMs * 3,
        periodMs: 500,
        logger: this.log,
      });
      this.membership.start();
    }
    this.log.info('leading: orchestrators, scheduler, dispatcher and membership running');
  }

  private async stopLeading(): Promise<void> {
    this.membership?.stop();
    this.membership = undefined;
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
      const managerStatus = this.ownStatus();
      const n = tx.nodes.get(nodeId);
      if (!n) {
        tx.nodes.create({
          ID: nodeId,
          Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
          Description: description,
          Status: { State: 'unknown', Addr: advertiseAddr },
          ManagerStatus: managerStatus,
        });
      } else if (JSON.stringify(n.ManagerStatus) !== JSON.stringify(managerStatus)) {
        tx.nodes.update({ ...n, ManagerStatus: managerStatus });
      }
    });
    if (!res.ok) throw new Error(`cluster bootstrap refused: ${res.error.message}`);
  }

  /**
   * After a forced new cluster raft has this manager alone; the store still names the others as
   * managers, and the membership loop would add them back. They become workers, as docker does:
   * a lost manager that comes back follows the demotion through its agent.
   */
  private async demoteOtherManagers(): Promise<void> {
    const self = this.config.nodeId;
    const res = await this.store.update((tx) => {
      for (const n of tx.nodes.find({ by: 'all' })) {
        if (n.ID === self || n.Spec.Role !== 'manager') continue;
        tx.nodes.update({ ...n, Spec: { ...n.Spec, Role: 'worker' } });
      }
    });
    if (!res.ok) throw new Error(`demoting the lost managers failed: ${res.error.message}`);
    this.demoteLostManagers = false;
    this.log.warn('forced a new cluster: the other managers are demoted to workers');
  }

  /** This manager's entry in the node list while it leads. */
  private ownStatus(): ManagerStatus {
    const a = this.config.advertiseAddr;
    return {
      Leader: true,
      Reachability: 'reachable',
      Addr: hostPort(a, this.config.apiPort),
      RaftAddr: hostPort(a, this.config.raft.port),
      NatsAddr: hostPort(a, this.config.natsClient.port),
      NatsClusterAddr: hostPort(a, this.config.natsCluster.port),
    };
  }

  /** The CA with its key, on the leader only: one writer of the node list. */
  private leaderCa(): RootCa {
    const ca = this.ca;
    if (!this.isLeader() || !ca || !('keyPem' in ca)) {
      throw new TsswarmError(
        ErrorCode.NotLeader,
        'this manager is not the leader: join through the leader',
      );
    }
    return ca;
  }

  /**
   * Admits a node: checks the token secret, records the node through raft, signs its key. A
   * manager joiner also gets the CA key and where the other managers are; the membership loop
   * adds it to raft as a non-voter at once and gives it a vote once it has caught up.
   */
  async join(req: JoinRequest): Promise<JoinAnswer> {
    const ca = this.leaderCa();
    const cluster = this.control.getCluster();
    const match = matchJoinToken(req.token, {
      worker: cluster.JoinTokens.Worker,
      manager: cluster.JoinTokens.Manager,
    });
    if (!match.ok) throw new TsswarmError(ErrorCode.PermissionDenied, match.message);
    const ports = req.ports;
    if (match.role === 'manager' && !ports) {
      throw invalidArgument('a manager joiner must send the ports it listens on');
    }
    const nodeId = generateId(randomBytes);
    const answer = await this.credentials(ca, nodeId, match.role, req.publicKeyPem, req.addr);
    const res = await this.store.update((tx) => {
      tx.nodes.create({
        ID: nodeId,
        Spec: { Labels: {}, Role: match.role, Availability: 'active' },
        Description: req.description,
        Status: { State: 'unknown', Addr: req.addr },
        ...(match.role === 'manager' && ports
          ? { ManagerStatus: newManagerStatus(req.addr, ports) }
          : {}),
      });
    });
    if (!res.ok) throw res.error;
    await this.syncNats();
    this.log.info({ 'join.node': nodeId, 'join.role': match.role }, 'node joined');
    return answer;
  }

  /**
   * A worker that `node promote` made a manager asks for its manager credentials (over its
   * authenticated NATS session): the same answer a manager joiner gets, for its existing id.
   */
  async promote(nodeId: string, req: PromoteRequest): Promise<JoinAnswer> {
    const ca = this.leaderCa();
    const node = this.store.view((tx) => tx.nodes.get(nodeId));
    if (!node) throw new TsswarmError(ErrorCode.NotFound, `node ${nodeId} is not in the swarm`);
    if (node.Spec.Role !== 'manager') {
      throw invalidArgument(`node ${nodeId} has not been promoted to manager`);
    }
    const addr = node.Status.Addr;
    const answer = await this.credentials(ca, nodeId, 'manager', req.publicKeyPem, addr);
    const res = await this.store.update((tx) => {
      const n = tx.nodes.get(nodeId);
      if (n) tx.nodes.update({ ...n, ManagerStatus: newManagerStatus(addr, req.ports) });
    });
    if (!res.ok) throw res.error;
    await this.syncNats();
    this.log.info({ 'promote.node': nodeId }, 'node promoted: manager credentials issued');
    return answer;
  }

  private async credentials(
    ca: RootCa,
    nodeId: string,
    role: NodeRole,
    publicKeyPem: string,
    addr: string,
  ): Promise<JoinAnswer> {
    const cert = await issueCertificate(ca, {
      nodeId,
      role,
      clusterId: this.config.clusterId,
      publicKeyPem,
      sans:
        role === 'manager'
          ? { dns: ['localhost'], ips: [...new Set(['127.0.0.1', addr])] }
          : { ips: [addr] },
    });
    return {
      NodeID: nodeId,
      ClusterID: this.config.clusterId,
      Role: role,
      CertPem: cert.certPem,
      CaPem: ca.certPem,
      NatsUrls: this.natsUrls(),
      ...(role === 'manager'
        ? {
            CaKeyPem: ca.keyPem,
            ...(this.secretKey ? { SecretKey: this.secretKey.toString('base64') } : {}),
            NatsRoutes: this.natsRoutes(false),
            RaftPeers: Object.fromEntries(
              (this.raft?.configuration().servers ?? []).map((x) => [x.id, x.address]),
            ),
          }
        : {}),
    };
  }

  /**
   * Every node of the store is a NATS user (so its agent may connect to any manager's server),
   * and every other manager's server is a route. Reloads nats-server only when that changed.
   */
  private async syncNats(): Promise<void> {
    // Identities follow the certificates a node may hold, not its wanted role: every node has
    // its worker one, managers (and nodes between promotion and demotion) the manager one too,
    // so a node whose role changes keeps its session until it has its new certificate.
    const clusterId = this.config.clusterId;
    const users: NodeIdentity[] = this.store
      .view((tx) => tx.nodes.find({ by: 'all' }))
      .flatMap((n) => [
        { nodeId: n.ID, role: 'worker' as const, clusterId },
        ...(n.ManagerStatus ? [{ nodeId: n.ID, role: 'manager' as const, clusterId }] : []),
      ]);
    if (!users.some((u) => u.nodeId === this.config.nodeId && u.role === 'manager')) {
      users.push({ nodeId: this.config.nodeId, role: 'manager', clusterId });
    }
    const known = this.natsRoutes(true);
    // Until the store names the managers (a joiner catching up), keep the routes it came with.
    const routes = this.managerNodes().length > 0 ? known : (this.config.natsRoutes ?? []);
    const key = JSON.stringify({ users, routes });
    if (key === this.natsApplied || !this.nats) return;
    await this.nats.reconfigure({ users, routes });
    this.natsApplied = key;
  }

  /** This manager's own NATS connection for requests to nodes (any manager, leader or not). */
  private natsClient(): Promise<NatsConnection> {
    this.clientNc ??= (async () => {
      const { connect } = await import('nats');
      const cert = await readNodeCertificate(this.config.dataRoot);
      if (!cert || !this.ca) throw new TsswarmError(ErrorCode.DataCorrupt, 'certificates vanished');
      return connect({
        ...nodeClientOptions([this.natsUrl], {
          nodeId: this.config.nodeId,
          caPem: this.ca.certPem,
          certPem: cert.certPem,
          keyPem: cert.keyPem,
        }),
        name: `${this.config.nodeId}-client`,
      });
    })();
    const p = this.clientNc;
    p.catch(() => {
      if (this.clientNc === p) this.clientNc = undefined;
    });
    return p;
  }

  /**
   * `service logs` on any manager: each node that ran a task of the service streams its lines
   * here over NATS (docker's log broker, without the leader in the path). Without `follow`
   * the stream ends when every node said done, or went silent for 5 s (a node that is down).
   */
  serviceLogs(o: {
    serviceId: string;
    tasks: Task[];
    tail?: number;
    sinceMs?: number;
    follow: boolean;
    signal: AbortSignal;
  }): AsyncIterable<ServiceLogLine> {
    const natsClient = () => this.natsClient();
    return (async function* () {
      const nodes = [...new Set(o.tasks.map((t) => t.NodeID).filter((n) => n !== ''))];
      if (nodes.length === 0) return;
      const nc = await natsClient();
      const requestId = randomUUID().replaceAll('-', '');
      const queue: ServiceLogLine[] = [];
      const pending = new Set(nodes);
      const heard = new Map(nodes.map((n) => [n, Date.now()]));
      let wake: (() => void) | undefined;
      const decoder = new TextDecoder();
      const sub = nc.subscribe(dispatchSubjects.allLogStreams(requestId), {
        callback: (err, m) => {
          if (err) return;
          const node = m.subject.split('.')[2] ?? '';
          heard.set(node, Date.now());
          const chunk = JSON.parse(decoder.decode(m.data)) as LogsChunk;
          if ('lines' in chunk) queue.push(...chunk.lines);
          else pending.delete(node);
          wake?.();
        },
      });
      await nc.flush();
      const send = (req: LogsRequest): void => {
        for (const n of nodes) {
          nc.publish(dispatchSubjects.toNode(n, dispatchTopics.logs), JSON.stringify(req));
        }
      };
      const req: LogsRequest = {
        requestId,
        serviceId: o.serviceId,
        ...(o.tail !== undefined ? { tail: o.tail } : {}),
        ...(o.sinceMs !== undefined ? { sinceMs: o.sinceMs } : {}),
        follow: o.follow,
      };
      send(req);
      const onAbort = () => wake?.();
      o.signal.addEventListener('abort', onAbort);
      try {
        while (!o.signal.aborted) {
          const line = queue.shift();
          if (line !== undefined) {
            yield line;
            continue;
          }
          if (!o.follow) {
            for (const n of pending) {
              if (Date.now() - (heard.get(n) ?? 0) > 5_000) pending.delete(n);
            }
            if (pending.size === 0) break;
          }
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 1_000);
          });
          wake = undefined;
        }
      } finally {
        o.signal.removeEventListener('abort', onAbort);
        sub.unsubscribe();
        if (o.follow) send({ ...req, cancel: true });
      }
    })();
  }

  setHeartbeatPeriod(ms: number): void {
    this.dispatcher?.setHeartbeatPeriod(ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.peersAbort.abort();
    await bounded(this.leaderChange, 5_000);
    await bounded(this.stopLeading(), 5_000);
    this.raft?.stop();
    await bounded(this.transport?.close(), 2_000);
    this.stores?.close();
    const client = this.clientNc;
    this.clientNc = undefined;
    await bounded(
      client?.then((nc) => nc.close()),
      2_000,
    );
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
