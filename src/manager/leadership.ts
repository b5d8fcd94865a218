import type { Logger } from 'pino';
import type { NatsConnection } from 'nats';
import {
  defaultClusterSpec,
  DEFAULT_CLUSTER_NAME,
  nsToMs,
  TsswarmError,
  type JoinAnswer,
  type ManagerStatus,
} from '../api/index.js';
import type { PromoteRequest } from '../api/dispatch.js';
import { generateJoinTokens, type RootCa } from '../ca/index.js';
import { bounded } from './bounded.js';
import type { ControlApi } from './controlapi/index.js';
import { Dispatcher, defaultDispatcherConfig, natsBus } from './dispatcher/index.js';
import { LeaderLoops } from './leader-loops.js';
import { hostPort, type ManagerConfig } from './manager-config.js';
import type { ManagerNats } from './manager-nats.js';
import { RaftMembership } from './membership.js';
import { connectAsNode } from './node-connection.js';
import type { RaftNode } from './raft/index.js';
import type { ApplyResult, MemoryStore } from './store/index.js';

export interface LeadershipOptions {
  config: ManagerConfig;
  store: MemoryStore;
  control: ControlApi;
  nats: ManagerNats;
  /** Raft and the CA exist once the manager has started; leadership comes after that. */
  raft: () => RaftNode<ApplyResult> | undefined;
  ca: () => RootCa | undefined;
  /** Hands a promoted worker its manager credentials (the dispatcher's promote topic). */
  promote: (nodeId: string, req: PromoteRequest) => Promise<JoinAnswer>;
  logger: Logger;
}

/**
 * What this manager runs only while it leads: the leader loops (orchestrators, allocator,
 * scheduler), the dispatcher on its own NATS connection, and raft membership. Raft's
 * leadership events come in through `follow` and are handled one at a time; a leader whose
 * components fail steps down or starts them afresh, never leads without them.
 */
export class Leadership {
  private leaderNc: NatsConnection | undefined;
  private dispatcher: Dispatcher | undefined;
  private loops: LeaderLoops | undefined;
  private membership: RaftMembership | undefined;
  private change: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Set until the first leadership after a forced new cluster has demoted the lost managers. */
  private demoteLostManagers: boolean;

  constructor(private readonly o: LeadershipOptions) {
    this.demoteLostManagers = o.config.mode === 'force-new-cluster';
  }

  /** True while this node leads with its dispatcher running. */
  get leading(): boolean {
    return this.dispatcher !== undefined;
  }

  /** Follows a leadership event of raft. */
  follow(isLeader: boolean): void {
    this.change = this.change
      .then(() => (isLeader ? this.becomeLeader() : this.stopLeading()))
      .catch((err: unknown) => {
        // A leader that cannot run its loops must not keep leading (swarmkit's mistake).
        this.o.logger.error({ err }, 'leader start failed; stepping down');
        void this.stopLeading();
      });
  }

  setHeartbeatPeriod(ms: number): void {
    this.dispatcher?.setHeartbeatPeriod(ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await bounded(this.change, 5_000);
    await bounded(this.stopLeading(), 5_000);
  }

  private async becomeLeader(): Promise<void> {
    if (this.stopped || this.dispatcher) return;
    const { config, store, control, logger } = this.o;
    await this.o.raft()?.readBarrier();
    await this.ensureCluster();
    if (this.demoteLostManagers) await this.demoteOtherManagers();
    await this.o.nats.sync();
    this.leaderNc = await connectAsNode(config, this.o.ca(), 'dispatcher');
    const cluster = control.getCluster();
    this.dispatcher = new Dispatcher({
      store,
      bus: natsBus(this.leaderNc),
      openSecret: (secret) => control.files.openSecret(secret),
      config: {
        ...defaultDispatcherConfig(),
        heartbeatPeriodMs: nsToMs(cluster.Spec.Dispatcher.HeartbeatPeriod),
      },
      logger,
      onPromote: (nodeId, req) => this.o.promote(nodeId, req),
    });
    this.dispatcher.start();
    this.loops = new LeaderLoops({
      store,
      logger,
      onFailing: () => {
        // Start the leader components afresh from the store, as a new leader would.
        this.change = this.change
          .then(() => this.stopLeading())
          .then(() =>
            this.o.raft()?.isLeader() && !this.stopped ? this.becomeLeader() : undefined,
          )
          .catch((err: unknown) => logger.error({ err }, 'leader restart failed'));
      },
    });
    this.loops.start();
    const raft = this.o.raft();
    if (raft) {
      this.membership = new RaftMembership({
        selfId: config.nodeId,
        store,
        raft,
        unreachableAfterMs: config.electionTimeoutMs * 3,
        periodMs: 500,
        logger,
      });
      this.membership.start();
    }
    logger.info('leading: orchestrators, scheduler, dispatcher and membership running');
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
    const ca = this.o.ca();
    if (!ca) return;
    const { nodeId, clusterId, description, advertiseAddr } = this.o.config;
    const res = await this.o.store.update((tx) => {
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
    if (!res.ok) {
      throw new TsswarmError(res.error.code, `cluster bootstrap refused: ${res.error.message}`, {
        cause: res.error,
      });
    }
  }

  /**
   * After a forced new cluster raft has this manager alone; the store still names the others as
   * managers, and the membership loop would add them back. They become workers, as docker does:
   * a lost manager that comes back follows the demotion through its agent.
   */
  private async demoteOtherManagers(): Promise<void> {
    const self = this.o.config.nodeId;
    const res = await this.o.store.update((tx) => {
      for (const n of tx.nodes.find({ by: 'all' })) {
        if (n.ID === self || n.Spec.Role !== 'manager') continue;
        tx.nodes.update({ ...n, Spec: { ...n.Spec, Role: 'worker' } });
      }
    });
    if (!res.ok) {
      throw new TsswarmError(
        res.error.code,
        `demoting the lost managers failed: ${res.error.message}`,
        { cause: res.error },
      );
    }
    this.demoteLostManagers = false;
    this.o.logger.warn('forced a new cluster: the other managers are demoted to workers');
  }

  /** This manager's entry in the node list while it leads. */
  private ownStatus(): ManagerStatus {
    const c = this.o.config;
    const a = c.advertiseAddr;
    return {
      Leader: true,
      Reachability: 'reachable',
      Addr: hostPort(a, c.apiPort),
      RaftAddr: hostPort(a, c.raft.port),
      NatsAddr: hostPort(a, c.natsClient.port),
      NatsClusterAddr: hostPort(a, c.natsCluster.port),
    };
  }
}
