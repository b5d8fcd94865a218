import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ErrorCode,
  generateId,
  invalidArgument,
  TsswarmError,
  type JoinAnswer,
  type JoinRequest,
  type ManagerPorts,
  type ManagerStatus,
  type NodeRole,
} from '../api/index.js';
import type { PromoteRequest } from '../api/dispatch.js';
import { issueCertificate, matchJoinToken, type RootCa } from '../ca/index.js';
import type { ControlApi } from './controlapi/index.js';
import { hostPort, type ManagerConfig } from './manager-config.js';
import type { ManagerNats } from './manager-nats.js';
import type { RaftNode } from './raft/index.js';
import type { ApplyResult, MemoryStore } from './store/index.js';

export interface AdmissionOptions {
  config: ManagerConfig;
  store: MemoryStore;
  control: ControlApi;
  nats: ManagerNats;
  /** Raft, the CA and the secrets key exist once the manager has started. */
  raft: () => RaftNode<ApplyResult> | undefined;
  ca: () => RootCa | undefined;
  secretKey: () => Buffer | undefined;
  logger: Logger;
}

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

/**
 * Node admission on the leader: `swarm join` (token checked, node recorded through raft, its
 * key signed) and a promoted worker's request for its manager credentials.
 */
export class Admission {
  constructor(private readonly o: AdmissionOptions) {}

  /** The CA with its key, on the leader only: one writer of the node list. */
  private leaderCa(): RootCa {
    const ca = this.o.ca();
    if (!(this.o.raft()?.isLeader() ?? false) || !ca || !('keyPem' in ca)) {
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
    const cluster = this.o.control.getCluster();
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
    const res = await this.o.store.update((tx) => {
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
    await this.o.nats.sync();
    this.o.logger.info({ 'join.node': nodeId, 'join.role': match.role }, 'node joined');
    return answer;
  }

  /**
   * A worker that `node promote` made a manager asks for its manager credentials (over its
   * authenticated NATS session): the same answer a manager joiner gets, for its existing id.
   */
  async promote(nodeId: string, req: PromoteRequest): Promise<JoinAnswer> {
    const ca = this.leaderCa();
    const node = this.o.store.view((tx) => tx.nodes.get(nodeId));
    if (!node) throw new TsswarmError(ErrorCode.NotFound, `node ${nodeId} is not in the swarm`);
    if (node.Spec.Role !== 'manager') {
      throw invalidArgument(`node ${nodeId} has not been promoted to manager`);
    }
    const addr = node.Status.Addr;
    const answer = await this.credentials(ca, nodeId, 'manager', req.publicKeyPem, addr);
    const res = await this.o.store.update((tx) => {
      const n = tx.nodes.get(nodeId);
      if (n) tx.nodes.update({ ...n, ManagerStatus: newManagerStatus(addr, req.ports) });
    });
    if (!res.ok) throw res.error;
    await this.o.nats.sync();
    this.o.logger.info({ 'promote.node': nodeId }, 'node promoted: manager credentials issued');
    return answer;
  }

  private async credentials(
    ca: RootCa,
    nodeId: string,
    role: NodeRole,
    publicKeyPem: string,
    addr: string,
  ): Promise<JoinAnswer> {
    const clusterId = this.o.config.clusterId;
    const secretKey = this.o.secretKey();
    const cert = await issueCertificate(ca, {
      nodeId,
      role,
      clusterId,
      publicKeyPem,
      sans:
        role === 'manager'
          ? { dns: ['localhost'], ips: [...new Set(['127.0.0.1', addr])] }
          : { ips: [addr] },
    });
    return {
      NodeID: nodeId,
      ClusterID: clusterId,
      Role: role,
      CertPem: cert.certPem,
      CaPem: ca.certPem,
      NatsUrls: this.o.nats.urls(),
      ...(role === 'manager'
        ? {
            CaKeyPem: ca.keyPem,
            ...(secretKey ? { SecretKey: secretKey.toString('base64') } : {}),
            NatsRoutes: this.o.nats.routes(false),
            RaftPeers: Object.fromEntries(
              (this.o.raft()?.configuration().servers ?? []).map((x) => [x.id, x.address]),
            ),
          }
        : {}),
    };
  }
}
