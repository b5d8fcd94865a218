import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { conflict, ErrorCode, generateId, TsswarmError, type NodeRole } from '../api/index.js';
// Certificate files and the digest only: a worker never loads the issuing library.
import {
  certificateDigest,
  certificatePaths,
  readNodeCertificate,
  readRootCa,
  writeNodeCertificate,
  writeRootCa,
} from '../ca/certificate-store.js';
import type { NodeCredentials } from '../ca/tls-options.js';
import type { JoinAnswer, Manager, ManagerPorts } from '../manager/manager.js';
import { secretKeyPath, writeSecretKey } from '../manager/secrets/index.js';
import type { Agent, TaskNetworks } from '../worker/index.js';
import type { ApiContext, SwarmInitRequest, SwarmJoinRequest } from './api-context.js';
import { defaultAdvertiseAddr, validateDaemonConfig, type DaemonConfig } from './daemon-config.js';
import { splitHostPort, stripPort } from './host-port.js';
import { requestJoin } from './join-swarm.js';
import type * as ManagerRole from './manager-role.js';
import { nodeDescription } from './node-description.js';
import { readNodeState, removeSwarmState, writeNodeState, type NodeState } from './node-state.js';
import { createAgent } from './worker-role.js';

export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error';

/**
 * The manager role's code loads when this node first plays it: a worker-only daemon carries
 * neither raft, the manager folder nor the x509 library (bench/service.bench.ts measures its
 * idle RSS; loading them all costs it about 10 MB).
 */
const loadManagerRole = (): Promise<typeof ManagerRole> => import('./manager-role.js');

/**
 * The node process: owns the roles this node plays (manager, worker) and their life cycle.
 * The API reaches it as an ApiContext.
 */
export class Daemon implements ApiContext {
  readonly config: DaemonConfig;
  private manager: Manager | undefined;
  private agent: Agent | undefined;
  private taskNetworks: TaskNetworks | undefined;
  private tcpApi: FastifyInstance | undefined;
  private state: NodeState | undefined;
  private localState: LocalNodeState = 'inactive';
  private lastError = '';
  private busy: Promise<unknown> = Promise.resolve();
  readonly log: Logger;

  constructor(config: DaemonConfig, logger: Logger) {
    this.config = validateDaemonConfig({ ...config });
    this.log = logger;
  }

  get pidFile(): string {
    return join(this.config.execRoot, 'tsswarm.pid');
  }

  get socketPath(): string {
    return join(this.config.execRoot, 'tsswarm.sock');
  }

  /** Writes the pid file and rejoins the swarm this node was in before a restart. */
  async start(): Promise<void> {
    await mkdir(this.config.execRoot, { recursive: true });
    await mkdir(this.config.dataRoot, { recursive: true });
    await writeFile(this.pidFile, `${process.pid}\n`);
    const state = await readNodeState(this.config.dataRoot);
    if (state) await this.serialised(() => this.startRoles(state, 'restart'));
  }

  /** One membership change at a time (init, leave, shutdown). */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  info(): Record<string, unknown> {
    return {
      ID: this.state?.nodeId ?? '',
      Name: hostname(),
      DataRoot: this.config.dataRoot,
      ExecRoot: this.config.execRoot,
      Pid: process.pid,
      Swarm: {
        NodeID: this.state?.nodeId ?? '',
        NodeAddr: this.state?.advertiseAddr ?? '',
        LocalNodeState: this.localState,
        ControlAvailable: this.manager !== undefined,
        Error: this.lastError,
        Cluster: this.state ? { ID: this.state.clusterId } : null,
        NatsPid: this.manager?.natsPid() ?? 0,
      },
    };
  }

  managerOrThrow(): Manager {
    if (this.manager && !this.manager.started) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        'the manager of this node is starting (catching up with the leader): try again',
      );
    }
    if (!this.manager) {
      throw new TsswarmError(
        ErrorCode.Unavailable,
        'This node is not a swarm manager. Use "tsswarm swarm init" or "tsswarm swarm join" to connect this node to swarm and try again.',
      );
    }
    return this.manager;
  }

  /** The manager role when this node plays it (no error when it does not). */
  currentManager(): Manager | undefined {
    return this.manager;
  }

  private creds: Promise<NodeCredentials> | undefined;

  /** This node's certificate, key and CA, for calls to other managers. */
  nodeCredentials(): Promise<NodeCredentials> {
    this.creds ??= (async () => {
      const root = await readRootCa(this.config.dataRoot);
      const cert = await readNodeCertificate(this.config.dataRoot);
      if (!root || !cert) {
        throw new TsswarmError(ErrorCode.DataCorrupt, 'node certificates missing');
      }
      return { caPem: root.certPem, certPem: cert.certPem, keyPem: cert.keyPem };
    })();
    const p = this.creds;
    p.catch(() => {
      if (this.creds === p) this.creds = undefined;
    });
    return p;
  }

  nodeId(): string | undefined {
    return this.state?.nodeId;
  }

  async init(req: SwarmInitRequest): Promise<string> {
    return this.serialised(async () => {
      if (this.state && req.forceNewCluster) return this.forceNewCluster(this.state);
      if (this.state) {
        throw conflict(
          'This node is already part of a swarm. Use "tsswarm swarm leave" to leave this swarm and join another one.',
        );
      }
      const advertiseAddr = stripPort(
        req.advertiseAddr || this.config.advertiseAddr || defaultAdvertiseAddr(),
      );
      const listen = req.listenAddr
        ? splitHostPort(req.listenAddr, this.config.raftPort)
        : undefined;
      const state: NodeState = {
        nodeId: generateId(randomBytes),
        clusterId: generateId(randomBytes),
        role: 'manager',
        advertiseAddr,
        raftHost: listen?.host ?? '0.0.0.0',
        raftPort: listen?.port ?? this.config.raftPort,
        natsPort: this.config.natsPort,
        natsClusterPort: this.config.natsClusterPort,
        natsMonitorPort: this.config.natsMonitorPort,
      };
      const { initManagerCredentials } = await loadManagerRole();
      await initManagerCredentials({
        dataRoot: this.config.dataRoot,
        nodeId: state.nodeId,
        clusterId: state.clusterId,
        advertiseAddr,
      });
      await writeNodeState(this.config.dataRoot, state);
      try {
        await this.startRoles(state, 'init');
      } catch (err) {
        await this.stopRoles();
        await removeSwarmState(this.config.dataRoot);
        throw err;
      }
      return state.nodeId;
    });
  }

  /**
   * `swarm init --force-new-cluster` on a manager of a cluster that lost its quorum: the manager
   * restarts as the only raft voter with the state it holds (services, nodes, tasks); the other
   * managers are demoted. Task containers keep running and are adopted, as after a restart.
   */
  private async forceNewCluster(state: NodeState): Promise<string> {
    if (state.role !== 'manager') {
      throw new TsswarmError(
        ErrorCode.InvalidArgument,
        '--force-new-cluster: this node is a worker; run it on a manager of the swarm',
      );
    }
    this.log.warn('swarm init --force-new-cluster: restarting the manager as a one-manager swarm');
    await this.stopRoles();
    await this.startRoles(state, 'force-new-cluster');
    return state.nodeId;
  }

  /** `swarm join`: ask a manager in, store the certificate it signs, start the worker. */
  async join(req: SwarmJoinRequest): Promise<string> {
    return this.serialised(async () => {
      if (this.state) {
        throw conflict(
          'This node is already part of a swarm. Use "tsswarm swarm leave" to leave this swarm and join another one.',
        );
      }
      const advertiseAddr = stripPort(
        req.advertiseAddr || this.config.advertiseAddr || defaultAdvertiseAddr(),
      );
      const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const problems: string[] = [];
      for (const remote of req.remoteAddrs) {
        let answer;
        try {
          answer = await requestJoin({
            remote,
            token: req.token,
            publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            description: nodeDescription(),
            addr: advertiseAddr,
            ports: this.managerPorts(),
            timeoutMs: 10_000,
          });
        } catch (err) {
          // A bad token or an impostor CA is final; an unreachable manager is worth the next.
          if (err instanceof TsswarmError && err.code !== ErrorCode.Unavailable) throw err;
          problems.push(err instanceof Error ? err.message : String(err));
          continue;
        }
        const state: NodeState = {
          nodeId: answer.NodeID,
          clusterId: answer.ClusterID,
          role: answer.Role,
          advertiseAddr,
          raftHost: '0.0.0.0',
          raftPort: this.config.raftPort,
          natsPort: this.config.natsPort,
          natsClusterPort: this.config.natsClusterPort,
          natsMonitorPort: this.config.natsMonitorPort,
          managerNatsUrls: answer.NatsUrls,
        };
        const digest = certificateDigest(answer.CaPem);
        await writeRootCa(
          this.config.dataRoot,
          answer.CaKeyPem
            ? { certPem: answer.CaPem, keyPem: answer.CaKeyPem, digest }
            : { certPem: answer.CaPem, digest },
        );
        await writeNodeCertificate(this.config.dataRoot, {
          certPem: answer.CertPem,
          keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        });
        await this.writeSecretKey(answer);
        await writeNodeState(this.config.dataRoot, state);
        try {
          await this.startRoles(state, 'join', answer);
        } catch (err) {
          await this.stopRoles();
          await removeSwarmState(this.config.dataRoot);
          this.state = undefined;
          throw err;
        }
        return state.nodeId;
      }
      throw new TsswarmError(ErrorCode.Unavailable, `could not join: ${problems.join('; ')}`);
    });
  }

  private managerPorts(): ManagerPorts {
    return {
      api: this.config.apiPort,
      raft: this.config.raftPort,
      nats: this.config.natsPort,
      natsCluster: this.config.natsClusterPort,
    };
  }

  private roleChange: Promise<void> | undefined;

  /** The agent heard the role the managers want (node promote/demote): follow it. */
  private onRoleWanted(role: NodeRole): void {
    if (!this.state || this.state.role === role || this.roleChange) return;
    this.roleChange = this.serialised(() => this.changeRole(role))
      .catch((err: unknown) =>
        this.log.warn({ err }, `becoming a ${role} failed; trying again at the next heartbeat`),
      )
      .finally(() => {
        this.roleChange = undefined;
      });
  }

  /**
   * Promote: manager credentials from the leader (over the NATS session), then the manager role
   * starts as a joining manager would. Demote (once another manager leads): a worker
   * certificate, the manager role and its raft, NATS and CA key go. Task containers keep running
   * and the new agent adopts them, as after a daemon restart.
   */
  private async changeRole(role: NodeRole): Promise<void> {
    const state = this.state;
    if (!state || state.role === role) return;
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    if (role === 'manager') {
      const agent = this.agent;
      if (!agent) return;
      const answer = await agent.requestPromotion({ publicKeyPem, ports: this.managerPorts() });
      await this.stopRoles();
      await writeRootCa(this.config.dataRoot, {
        certPem: answer.CaPem,
        keyPem: answer.CaKeyPem ?? '',
        digest: certificateDigest(answer.CaPem),
      });
      await writeNodeCertificate(this.config.dataRoot, { certPem: answer.CertPem, keyPem });
      await this.writeSecretKey(answer);
      const next: NodeState = { ...state, role: 'manager', managerNatsUrls: answer.NatsUrls };
      await writeNodeState(this.config.dataRoot, next);
      await this.startRoles(next, 'join', answer);
      this.log.info('promoted: this node is a manager now');
      return;
    }
    const manager = this.manager;
    // The leader hands its leadership over before it is removed: wait for that.
    if (!manager || manager.isLeader()) return;
    const root = await readRootCa(this.config.dataRoot);
    if (!root || !('keyPem' in root)) {
      throw new TsswarmError(ErrorCode.DataCorrupt, 'the CA key of this manager is missing');
    }
    const { issueCertificate } = await loadManagerRole();
    const cert = await issueCertificate(root, {
      nodeId: state.nodeId,
      role: 'worker',
      clusterId: state.clusterId,
      publicKeyPem,
      sans: { ips: [state.advertiseAddr] },
    });
    const own = `${state.advertiseAddr}:${state.natsPort}`;
    const natsUrls = manager.natsUrls().filter((u) => !u.endsWith(own));
    await this.stopRoles();
    for (const dir of ['raft', 'nats']) {
      await rm(join(this.config.dataRoot, dir), { recursive: true, force: true });
    }
    // A worker holds neither the CA key nor the key that opens the secrets.
    await rm(certificatePaths(this.config.dataRoot).caKey, { force: true });
    await rm(secretKeyPath(this.config.dataRoot), { force: true });
    await writeRootCa(this.config.dataRoot, { certPem: root.certPem, digest: root.digest });
    await writeNodeCertificate(this.config.dataRoot, { certPem: cert.certPem, keyPem });
    const next: NodeState = { ...state, role: 'worker', managerNatsUrls: natsUrls };
    await writeNodeState(this.config.dataRoot, next);
    await this.startRoles(next, 'restart');
    this.log.info('demoted: this node is a worker now');
  }

  /** A manager keeps the cluster's secret key beside the CA key; a worker never has it. */
  private async writeSecretKey(answer: JoinAnswer): Promise<void> {
    if (!answer.SecretKey) return;
    await writeSecretKey(this.config.dataRoot, Buffer.from(answer.SecretKey, 'base64'));
  }

  /** The cluster's CA certificate, for a joiner to pin against its token. */
  async rootCaPem(): Promise<string | undefined> {
    if (!this.manager) return undefined;
    return (await readRootCa(this.config.dataRoot))?.certPem;
  }

  private async startRoles(
    state: NodeState,
    mode: ManagerRole.ManagerStartMode,
    joined?: JoinAnswer,
  ): Promise<void> {
    this.localState = 'pending';
    if (state.role === 'worker') {
      try {
        this.state = state;
        await this.startAgent(state, state.managerNatsUrls ?? []);
        this.localState = 'active';
        this.lastError = '';
      } catch (err) {
        this.localState = 'error';
        this.lastError = err instanceof Error ? err.message : String(err);
        throw err;
      }
      return;
    }
    try {
      const role = await loadManagerRole();
      const manager = role.createManager({
        config: this.config,
        state,
        mode,
        joined,
        log: this.log,
      });
      this.manager = manager;
      this.state = state;
      await manager.start();
      await this.startTcpApi(role);
      // Its own server first; the other managers' when that one is down.
      await this.startAgent(state, [manager.natsUrl, ...manager.natsUrls()]);
      this.localState = 'active';
      if (this.tcpApi) this.lastError = '';
    } catch (err) {
      this.localState = 'error';
      this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  /**
   * The TLS API on `--api-port`. A port already taken leaves the node without it (logged and
   * shown in `info`), not without its manager: the local socket still serves everything.
   */
  private async startTcpApi(role: typeof ManagerRole): Promise<void> {
    const root = await readRootCa(this.config.dataRoot);
    const cert = await readNodeCertificate(this.config.dataRoot);
    if (!root || !cert) throw new TsswarmError(ErrorCode.DataCorrupt, 'node certificates missing');
    const listen = { host: '0.0.0.0', port: this.config.apiPort };
    try {
      this.tcpApi = await role.startTcpApi(
        this,
        { caPem: root.certPem, certPem: cert.certPem, keyPem: cert.keyPem },
        listen,
      );
      this.log.info({ 'api.port': listen.port }, 'TLS API listening');
    } catch (err) {
      this.lastError = `TLS API on port ${listen.port}: ${(err as Error).message}`;
      this.log.error({ err, 'api.port': listen.port }, 'TLS API could not listen');
    }
  }

  private async startAgent(state: NodeState, natsUrls: string[]): Promise<void> {
    const { agent, taskNetworks } = await createAgent({
      config: this.config,
      state,
      natsUrls,
      log: this.log,
      onRole: (role) => this.onRoleWanted(role),
    });
    this.taskNetworks = taskNetworks;
    this.agent = agent;
    await this.agent.start();
  }

  private async stopRoles(): Promise<void> {
    this.creds = undefined;
    const tcpApi = this.tcpApi;
    this.tcpApi = undefined;
    await tcpApi?.close().catch((err: unknown) => this.log.warn({ err }, 'TLS API close failed'));
    const agent = this.agent;
    this.agent = undefined;
    await agent?.stop().catch((err: unknown) => this.log.warn({ err }, 'agent stop failed'));
    const networks = this.taskNetworks;
    this.taskNetworks = undefined;
    await networks?.close().catch((err: unknown) => this.log.warn({ err }, 'network close failed'));
    const manager = this.manager;
    this.manager = undefined;
    await manager?.stop().catch((err: unknown) => this.log.warn({ err }, 'manager stop failed'));
  }

  /** Swarm leave: every task container removed, nats-server stopped, swarm state deleted. */
  async leave(force: boolean): Promise<void> {
    await this.serialised(async () => {
      if (!this.state) {
        throw new TsswarmError(ErrorCode.Unavailable, 'This node is not part of a swarm');
      }
      if (this.state.role === 'manager' && !force) {
        throw new TsswarmError(
          ErrorCode.InUse,
          'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.',
        );
      }
      const agent = this.agent;
      this.agent = undefined;
      this.log.info('leave: stopping the worker session');
      await agent?.stop().catch(() => undefined);
      this.log.info('leave: removing task containers');
      await agent?.worker.removeAll();
      this.log.info('leave: removing overlay networks');
      const networks = this.taskNetworks;
      this.taskNetworks = undefined;
      await networks?.cleanupAll().catch((err: unknown) => {
        this.log.warn({ err }, 'overlay cleanup failed');
      });
      this.log.info('leave: stopping the manager');
      await this.stopRoles();
      await removeSwarmState(this.config.dataRoot);
      this.log.info('left the swarm');
      this.state = undefined;
      this.localState = 'inactive';
    });
  }

  /** SIGTERM: the roles stop, task containers keep running for the next daemon to adopt. */
  async shutdown(): Promise<void> {
    await this.serialised(async () => {
      await this.stopRoles();
      await rm(this.pidFile, { force: true });
    });
  }
}
