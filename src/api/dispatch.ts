import type { NodeDescription } from './node.js';
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
}

export interface HeartbeatRequest {
  sessionId: string;
}

export type HeartbeatReply =
  { ok: true; heartbeatPeriodMs: number } | { ok: false; reason: 'unknown-session' };

export type AssignmentMessage =
  | { type: 'complete'; sessionId: string; seq: number; tasks: Task[] }
  | { type: 'incremental'; sessionId: string; seq: number; updated: Task[]; removed: string[] };

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

/** Topics under `tsswarm.node.<id>.` and `tsswarm.dispatcher.<id>.` (see manager/nats subjects). */
export const dispatchTopics = {
  assignments: 'assignments',
  register: 'register',
  heartbeat: 'heartbeat',
  status: 'status',
  resync: 'resync',
} as const;

/** Same subject scheme as manager/nats `subjects`, which renders the permissions from it. */
export const dispatchSubjects = {
  toNode: (nodeId: string, topic: string): string => `tsswarm.node.${nodeId}.${topic}`,
  fromNode: (nodeId: string, topic: string): string => `tsswarm.dispatcher.${nodeId}.${topic}`,
  allFromNodes: 'tsswarm.dispatcher.*.>',
  inboxPrefix: (nodeId: string): string => `_INBOX.${nodeId}`,
} as const;
