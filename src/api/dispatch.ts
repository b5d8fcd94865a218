import type { JoinAnswer, ManagerPorts } from './join.js';
import type { NodeDescription, NodeRole } from './node.js';
import type { Network } from './network.js';
import type { PortConfig, ResolutionMode } from './service.js';
import type { Task, TaskStatus } from './task.js';

/**
 * The dispatch protocol between the leader's dispatcher and each node's worker, over NATS.
 * It lives in src/api because both sides speak it and must not import each other.
 *
 *   worker ──register──────────────▶ dispatcher   (request: reply carries sessionId, period)
 *   worker ◀──assignments (seq 1: complete, then incremental seq 2, 3 …)
 *   worker ──heartbeat (request)──▶  reply {ok} or {ok:false, reason:'unknown-session'}
 *   worker ──status (batched)─────▶
 *   worker ──resync (request)─────▶  a gap in seq: the dispatcher sends a complete set again
 */
export interface RegisterRequest {
  nodeId: string;
  description: NodeDescription;
  /** Where the node can be reached (its advertise address). */
  addr: string;
}

export interface RegisterReply {
  sessionId: string;
  heartbeatPeriodMs: number;
  /** The role the managers want this node in (promote/demote reach the node this way). */
  role?: NodeRole;
}

export interface HeartbeatRequest {
  sessionId: string;
}

export type HeartbeatReply =
  | { ok: true; heartbeatPeriodMs: number; role?: NodeRole }
  | { ok: false; reason: 'unknown-session' };

/** A promoted worker asks the leader for manager credentials for a key it generated. */
export interface PromoteRequest {
  publicKeyPem: string;
  ports: ManagerPorts;
}

export type PromoteReply = { ok: true; answer: JoinAnswer } | { ok: false; message: string };

/**
 * A secret or config as the dispatcher hands it to a node that runs a task using it: the
 * secret in clear (the NATS link is TLS); the worker keeps it in memory only.
 */
export interface DeliveredFile {
  ID: string;
  Name: string;
  /** Base64 of the bytes. */
  Data: string;
}

/**
 * Secrets and configs ride in the same numbered messages as the tasks that use them: a
 * complete message carries all the node needs, an incremental one what was added or dropped.
 */
export interface DeliveredFiles {
  secrets?: DeliveredFile[];
  configs?: DeliveredFile[];
  removedSecrets?: string[];
  removedConfigs?: string[];
}

export type AssignmentMessage =
  | ({ type: 'complete'; sessionId: string; seq: number; tasks: Task[] } & DeliveredFiles)
  | ({
      type: 'incremental';
      sessionId: string;
      seq: number;
      updated: Task[];
      removed: string[];
    } & DeliveredFiles);

export interface TaskStatusUpdate {
  taskId: string;
  status: TaskStatus;
}

export interface StatusBatch {
  sessionId: string;
  updates: TaskStatusUpdate[];
}

export interface ResyncRequest {
  sessionId: string;
  /** The last sequence number the worker applied. */
  lastSeq: number;
}

/**
 * What a node needs to realise the overlay networks of its tasks (topic `network`): those
 * networks, the services on them and where every task address on them lives. Sent whole after
 * register and resync and whenever it changes for the node, so a lost message is healed by the
 * next one; the worker applies the newest it has seen.
 */
export interface NetworkView {
  sessionId: string;
  /** Increases with every view sent in a session. */
  seq: number;
  networks: Network[];
  services: NetworkViewService[];
  /** Task addresses, and every node's routing-mesh address (taskId `node:<id>`, serviceId ''). */
  endpoints: NetworkViewEndpoint[];
  /** Set while a service publishes a port in ingress mode: this node's address on ingress. */
  ingress?: { networkId: string; addr: string };
}

export interface NetworkViewService {
  id: string;
  name: string;
  endpointMode: ResolutionMode;
  /** VIP per network, CIDR form. */
  vips: { networkId: string; addr: string }[];
  /** Aliases per network (attachment aliases). */
  aliases: { networkId: string; names: string[] }[];
  ports: PortConfig[];
}

export interface NetworkViewEndpoint {
  taskId: string;
  taskName: string;
  serviceId: string;
  nodeId: string;
  /** The node's underlay address (VXLAN destination). */
  nodeAddr: string;
  /** The task is running: a VIP and DNS backend. Others are only reachable peers. */
  running: boolean;
  networkId: string;
  /** Position of the attachment in the task's list: the container's eth<ifIndex>. */
  ifIndex: number;
  /** CIDR form. */
  addr: string;
}

/** Topics under `tsswarm.node.<id>.` and `tsswarm.dispatcher.<id>.` (see `dispatchSubjects`). */
export const dispatchTopics = {
  assignments: 'assignments',
  register: 'register',
  heartbeat: 'heartbeat',
  status: 'status',
  resync: 'resync',
  promote: 'promote',
  logs: 'logs',
  network: 'network',
} as const;

/**
 * `service logs` across nodes: a manager asks each node that ran a task of the service
 * (`tsswarm.node.<id>.logs`), and the node streams lines back on
 * `tsswarm.dispatcher.<id>.logs.<requestId>`, ending with `done` unless it follows.
 */
export interface LogsRequest {
  requestId: string;
  serviceId: string;
  tail?: number;
  /** Only lines written at or after this time (ms since the epoch). */
  sinceMs?: number;
  follow: boolean;
  /** Ends a followed stream (the client went away). */
  cancel?: boolean;
}

/** One line of a service's logs as the node of its task sends it; the CLI writes the prefix. */
export interface ServiceLogLine {
  taskId: string;
  /** The node's hostname, as docker's `task@node` prefix shows it. */
  node: string;
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds. */
  time: string;
  /** Includes the trailing newline when the line had one. */
  line: string;
}

export type LogsChunk = { lines: ServiceLogLine[] } | { done: true; error?: string };

/**
 * NATS subject names of the dispatch protocol, the one source for the worker, the dispatcher and
 * the nats-server permissions (manager/nats renders them from these very builders).
 *
 *   tsswarm.node.<nodeId>.<topic>        managers → one node (assignments, log requests)
 *   tsswarm.dispatcher.<nodeId>.<topic>  one node → managers (register, heartbeat, status, logs)
 *   _INBOX.<nodeId>.>                    that node's request/reply inboxes
 */
export const subjectRoot = 'tsswarm';

const subjectTokenPattern = /^[A-Za-z0-9_-]+$/;

function subjectToken(value: string, what: string): string {
  // '.', '*', '>' and whitespace would change what a subject or a permission matches.
  if (!subjectTokenPattern.test(value))
    throw new Error(`${what} ${JSON.stringify(value)} is not a valid NATS subject token`);
  return value;
}

export type NodeTopic = 'assignments' | 'logs' | (string & {});
export type DispatcherTopic = 'register' | 'heartbeat' | 'status' | 'logs' | (string & {});

export const dispatchSubjects = {
  /** Where managers send to one node: `tsswarm.node.<nodeId>.<topic>`. */
  toNode: (nodeId: string, topic: NodeTopic): string =>
    `${subjectRoot}.node.${subjectToken(nodeId, 'node id')}.${topic}`,
  /** Where one node reports to the managers: `tsswarm.dispatcher.<nodeId>.<topic>`. */
  fromNode: (nodeId: string, topic: DispatcherTopic): string =>
    `${subjectRoot}.dispatcher.${subjectToken(nodeId, 'node id')}.${topic}`,
  /** Every subject a node may receive on. */
  allToNode: (nodeId: string): string => `${subjectRoot}.node.${subjectToken(nodeId, 'node id')}.>`,
  /** Every subject a node may publish on. */
  allFromNode: (nodeId: string): string =>
    `${subjectRoot}.dispatcher.${subjectToken(nodeId, 'node id')}.>`,
  /** What the dispatcher subscribes to: reports of every node. */
  allFromNodes: `${subjectRoot}.dispatcher.*.>`,
  /** One node's answer stream to one `service logs` request. */
  logStream: (nodeId: string, requestId: string): string =>
    `${subjectRoot}.dispatcher.${subjectToken(nodeId, 'node id')}.logs.${subjectToken(requestId, 'request id')}`,
  /** Every node's answer stream to one request. */
  allLogStreams: (requestId: string): string =>
    `${subjectRoot}.dispatcher.*.logs.${subjectToken(requestId, 'request id')}`,
  /** Per-node inbox prefix (nats.js `inboxPrefix`), so a node cannot read others' replies. */
  inboxPrefix: (nodeId: string): string => `_INBOX.${subjectToken(nodeId, 'node id')}`,
  allInboxes: (nodeId: string): string => `_INBOX.${subjectToken(nodeId, 'node id')}.>`,
} as const;
