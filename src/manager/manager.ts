import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, TsswarmError, type JoinAnswer, type JoinRequest } from '../api/index.js';
import type { PromoteRequest, ServiceLogLine } from '../api/dispatch.js';
import { readNodeCertificate, readRootCa, type RootCa } from '../ca/index.js';
import { Admission } from './admission.js';
import { bounded } from './bounded.js';
import { ControlApi } from './controlapi/index.js';
import { Leadership } from './leadership.js';
import { LogBroker, type ServiceLogsQuery } from './log-broker.js';
import { localNatsUrl, type ManagerConfig } from './manager-config.js';
import { ManagerNats } from './manager-nats.js';
import {
  defaultRaftConfig,
  openFileStores,
  RaftNode,
  TcpTransport,
  type FileStores,
} from './raft/index.js';
import { loadOrCreateSecretKey } from './secrets/index.js';
import { MemoryStore, type ApplyResult } from './store/index.js';

export type { JoinAnswer, JoinRequest, ManagerPorts } from '../api/index.js';
export type { ManagerConfig } from './manager-config.js';
export { initManagerCredentials } from './manager-credentials.js';

/**
 * The manager role of a node: raft over the file stores with the memory store as its FSM, the
 * supervised nats-server, and, while this node leads, the leader-only loops (orchestrators and
 * scheduler) and the dispatcher. The control API reads the local store and writes through raft.
 *
 *   raft (TCP mTLS) ──commits──▶ MemoryStore ◀── ControlApi (HTTP handlers)
 *        │ leadership                 │ watch
 *        ▼                            ▼
 *   Leadership: LeaderLoops + Dispatcher ──NATS (ManagerNats: nats-server child)──▶ workers
 *   Admission (join, promote) · LogBroker (service logs from the nodes)
 */
export class Manager {
  readonly store = new MemoryStore();
  readonly control = new ControlApi(this.store);
  private raft: RaftNode<ApplyResult> | undefined;
  private transport: TcpTransport | undefined;
  private stores: FileStores | undefined;
  private ca: RootCa | undefined;
  /** Seals secrets; handed to managers that join, never to workers. */
  private secretKey: Buffer | undefined;
  private readonly log: Logger;
  private readonly nats: ManagerNats;
  private readonly leadership: Leadership;
  private readonly admission: Admission;
  private readonly logBroker: LogBroker;
  /** Set once start() has a leader (or gave up waiting for one): reads are current from then. */
  started = false;

  constructor(
    readonly config: ManagerConfig,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'manager', 'node.id': config.nodeId });
    const raft = () => this.raft;
    const ca = () => this.ca;
    this.nats = new ManagerNats({ config, store: this.store, logger: this.log });
    this.admission = new Admission({
      config,
      store: this.store,
      control: this.control,
      nats: this.nats,
      raft,
      ca,
      secretKey: () => this.secretKey,
      logger: this.log,
    });
    this.leadership = new Leadership({
      config,
      store: this.store,
      control: this.control,
      nats: this.nats,
      raft,
      ca,
      promote: (nodeId, req) => this.admission.promote(nodeId, req),
      logger: this.log,
    });
    this.logBroker = new LogBroker(config, ca);
  }

  get natsUrl(): string {
    return localNatsUrl(this.config);
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
      if (e.type === 'leadership') this.leadership.follow(e.isLeader);
    });
    await this.nats.start();
    raft.start();
    this.nats.watchPeers();
    await this.waitForLeader(this.config.mode !== 'restart');
  }

  /** NATS URLs of every manager's server, for workers and joiners. */
  natsUrls(): string[] {
    return this.nats.urls();
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
    return this.nats.pid;
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
      if (leader && (leader.id === this.config.nodeId ? this.leadership.leading : caughtUp)) {
        this.started = true;
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.started = true;
    if (strict) throw new TsswarmError(ErrorCode.Unavailable, 'raft elected no leader in time');
    this.log.warn('no raft leader known yet: serving the local store, writes will fail');
  }

  join(req: JoinRequest): Promise<JoinAnswer> {
    return this.admission.join(req);
  }

  promote(nodeId: string, req: PromoteRequest): Promise<JoinAnswer> {
    return this.admission.promote(nodeId, req);
  }

  serviceLogs(o: ServiceLogsQuery): AsyncIterable<ServiceLogLine> {
    return this.logBroker.serviceLogs(o);
  }

  setHeartbeatPeriod(ms: number): void {
    this.leadership.setHeartbeatPeriod(ms);
  }

  async stop(): Promise<void> {
    this.nats.stopWatching();
    await this.leadership.stop();
    this.raft?.stop();
    await bounded(this.transport?.close(), 2_000);
    this.stores?.close();
    await this.logBroker.close();
    await this.nats.stop();
  }
}
