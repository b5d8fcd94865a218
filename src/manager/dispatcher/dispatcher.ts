import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  advanceTaskStatus,
  ErrorCode,
  TsswarmError,
  type JoinAnswer,
  type Node,
  type NodeRole,
  type Secret,
  type Task,
} from '../../api/index.js';
import {
  dispatchSubjects,
  dispatchTopics,
  type DeliveredFile,
  type HeartbeatReply,
  type HeartbeatRequest,
  type PromoteReply,
  type PromoteRequest,
  type NetworkView,
  type RegisterReply,
  type RegisterRequest,
  type ResyncRequest,
  type StatusBatch,
  type TaskStatusUpdate,
} from '../../api/dispatch.js';
import type { MemoryStore } from '../store/index.js';
import { AssignmentStream, isAssignedTo, type FileLoader } from './assignment-stream.js';
import { nodeNetworkView } from './network-view.js';
import { decodeJson, encodeJson, type Bus, type BusMessage } from './bus.js';

export interface DispatcherConfig {
  heartbeatPeriodMs: number;
  /** A node silent for period × this is down (swarm: 3). */
  graceMultiplier: number;
  /** Status updates arriving within this window are written in one transaction. */
  statusBatchMs: number;
}

export function defaultDispatcherConfig(): DispatcherConfig {
  return { heartbeatPeriodMs: 5_000, graceMultiplier: 3, statusBatchMs: 20 };
}

export function validateDispatcherConfig(c: DispatcherConfig): DispatcherConfig {
  if (!(c.heartbeatPeriodMs >= 100)) {
    throw new RangeError(`dispatcher heartbeatPeriodMs ${c.heartbeatPeriodMs}: at least 100`);
  }
  if (!(c.graceMultiplier >= 1)) {
    throw new RangeError(`dispatcher graceMultiplier ${c.graceMultiplier}: at least 1`);
  }
  if (!(c.statusBatchMs >= 0)) {
    throw new RangeError(`dispatcher statusBatchMs ${c.statusBatchMs}: not negative`);
  }
  return c;
}

interface Session {
  nodeId: string;
  stream: AssignmentStream;
  lastSeenMs: number;
  /** The last network view sent (serialised), so an unchanged one is not sent again. */
  lastView?: string;
  viewSeq: number;
}

export interface DispatcherOptions {
  store: MemoryStore;
  bus: Bus;
  config: DispatcherConfig;
  logger: Logger;
  nowMs?: () => number;
  /** Answers a promoted worker's request for manager credentials (the manager signs them). */
  onPromote?: (nodeId: string, req: PromoteRequest) => Promise<JoinAnswer>;
  /** A secret's bytes in clear, to deliver to nodes whose tasks use it. */
  openSecret?: (secret: Secret) => Uint8Array;
}

/**
 * The leader's side of dispatch: node sessions with heartbeats, the assignment stream of each
 * node (complete, then incremental, numbered), and task status reports written back through
 * raft in batches. Only the leader runs one; a new leader starts from the store and lets
 * workers re-register, so nothing depends on the old leader's memory.
 */
export class Dispatcher {
  private readonly sessions = new Map<string, Session>();
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private config: DispatcherConfig;
  private unsubscribe: (() => void) | undefined;
  private readonly watchAbort = new AbortController();
  private checkTimer: NodeJS.Timeout | undefined;
  private statusQueue: (TaskStatusUpdate & { nodeId: string })[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private statusFlushing: Promise<void> = Promise.resolve();
  private dirtyNodes = new Set<string>();
  private viewsDirty = false;
  private flushScheduled = false;
  private startedMs = 0;
  private stopped = false;

  constructor(private readonly options: DispatcherOptions) {
    this.config = validateDispatcherConfig({ ...options.config });
    this.log = options.logger.child({ component: 'dispatcher' });
    this.nowMs = options.nowMs ?? Date.now;
  }

  start(): void {
    this.startedMs = this.nowMs();
    this.unsubscribe = this.options.bus.subscribe(dispatchSubjects.allFromNodes, (m) =>
      this.onMessage(m),
    );
    const watcher = this.options.store.watch({
      tables: ['tasks', 'services', 'networks', 'nodes'],
      signal: this.watchAbort.signal,
    });
    void (async () => {
      try {
        for await (const e of watcher) {
          if (e.type === 'reset') {
            for (const id of this.sessions.keys()) this.dirtyNodes.add(id);
          } else if (e.type !== 'commit' && e.table !== 'tasks') {
            this.viewsDirty = true;
          } else if (e.type !== 'commit' && e.table === 'tasks') {
            // A task anywhere can change the peers and backends every node sees.
            this.viewsDirty = true;
            if (e.object.NodeID) this.dirtyNodes.add(e.object.NodeID);
            if (e.type === 'update' && e.old.NodeID) this.dirtyNodes.add(e.old.NodeID);
          }
          this.scheduleFlush();
        }
      } catch (err) {
        if (!this.stopped) this.log.error({ err }, 'task watch ended');
      }
    })();
    this.armCheck();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.watchAbort.abort();
    if (this.checkTimer) clearTimeout(this.checkTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.sessions.clear();
  }

  /** Resolves once queued status updates are in the store (tests, shutdown). */
  async drain(): Promise<void> {
    if (this.statusTimer) {
      clearTimeout(this.statusTimer);
      this.statusTimer = undefined;
      this.flushStatus();
    }
    await this.statusFlushing;
  }

  setHeartbeatPeriod(ms: number): void {
    this.config = validateDispatcherConfig({ ...this.config, heartbeatPeriodMs: ms });
    // Workers learn the new period from their next heartbeat reply: count from now.
    const now = this.nowMs();
    for (const s of this.sessions.values()) s.lastSeenMs = now;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  private onMessage(m: BusMessage): void {
    // tsswarm.dispatcher.<nodeId>.<topic>: the node id comes from the subject, which the
    // nats-server permissions tie to the sender's certificate.
    const parts = m.subject.split('.');
    const nodeId = parts[2];
    const topic = parts[3];
    if (nodeId === undefined || topic === undefined) return;
    try {
      switch (topic) {
        case dispatchTopics.register:
          // A leader that loses its role mid-register must not take the process down with it.
          this.register(nodeId, decodeJson<RegisterRequest>(m.data), m).catch((err: unknown) =>
            this.log.warn({ err, 'node.id': nodeId }, 'register failed'),
          );
          return;
        case dispatchTopics.heartbeat:
          this.heartbeat(nodeId, decodeJson<HeartbeatRequest>(m.data), m);
          return;
        case dispatchTopics.status:
          this.status(nodeId, decodeJson<StatusBatch>(m.data));
          return;
        case dispatchTopics.resync:
          this.resync(nodeId, decodeJson<ResyncRequest>(m.data), m);
          return;
        case dispatchTopics.logs:
          // Log streams go to the manager that asked for them, not to the dispatcher.
          return;
        case dispatchTopics.promote:
          void this.promote(nodeId, decodeJson<PromoteRequest>(m.data), m);
          return;
        default:
          this.log.warn({ 'node.id': nodeId, topic }, 'unknown topic');
      }
    } catch (err) {
      this.log.warn({ err, 'node.id': nodeId, topic }, 'malformed message');
    }
  }

  private async register(nodeId: string, req: RegisterRequest, m: BusMessage): Promise<void> {
    const res = await this.options.store.update((tx) => {
      const existing = tx.nodes.get(nodeId);
      if (existing) {
        const node: Node = structuredClone(existing) as Node;
        node.Description = req.description;
        node.Status = { State: 'ready', Addr: req.addr };
        tx.nodes.update(node);
      } else {
        tx.nodes.create({
          ID: nodeId,
          Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
          Description: req.description,
          Status: { State: 'ready', Addr: req.addr },
        });
      }
    });
    if (!res.ok) {
      this.log.warn({ 'node.id': nodeId, error: res.error }, 'register failed');
      return;
    }
    const session: Session = {
      nodeId,
      stream: new AssignmentStream(randomUUID()),
      lastSeenMs: this.nowMs(),
      viewSeq: 0,
    };
    this.sessions.set(nodeId, session);
    const reply: RegisterReply = {
      sessionId: session.stream.sessionId,
      heartbeatPeriodMs: this.config.heartbeatPeriodMs,
      ...this.roleOf(nodeId),
    };
    m.respond(encodeJson(reply));
    this.log.info({ 'node.id': nodeId, 'session.id': reply.sessionId }, 'node registered');
    this.sendComplete(session);
  }

  private heartbeat(nodeId: string, req: HeartbeatRequest, m: BusMessage): void {
    const s = this.sessions.get(nodeId);
    if (!s || s.stream.sessionId !== req.sessionId) {
      const reply: HeartbeatReply = { ok: false, reason: 'unknown-session' };
      m.respond(encodeJson(reply));
      return;
    }
    s.lastSeenMs = this.nowMs();
    const reply: HeartbeatReply = {
      ok: true,
      heartbeatPeriodMs: this.config.heartbeatPeriodMs,
      ...this.roleOf(nodeId),
    };
    m.respond(encodeJson(reply));
  }

  /** The role the store wants the node in: how promote and demote reach it. */
  private roleOf(nodeId: string): { role?: NodeRole } {
    const role = this.options.store.view((tx) => tx.nodes.get(nodeId))?.Spec.Role;
    return role ? { role } : {};
  }

  private async promote(nodeId: string, req: PromoteRequest, m: BusMessage): Promise<void> {
    let reply: PromoteReply;
    try {
      if (!this.options.onPromote) {
        throw new TsswarmError(ErrorCode.Unavailable, 'this dispatcher cannot promote nodes');
      }
      reply = { ok: true, answer: await this.options.onPromote(nodeId, req) };
    } catch (err) {
      reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    m.respond(encodeJson(reply));
  }

  private resync(nodeId: string, req: ResyncRequest, m: BusMessage): void {
    const s = this.sessions.get(nodeId);
    if (!s || s.stream.sessionId !== req.sessionId) {
      m.respond(encodeJson({ ok: false, reason: 'unknown-session' }));
      return;
    }
    s.lastSeenMs = this.nowMs();
    this.log.info({ 'node.id': nodeId, 'seq.last': req.lastSeq }, 'resync');
    m.respond(encodeJson({ ok: true }));
    this.sendComplete(s);
  }

  private status(nodeId: string, batch: StatusBatch): void {
    const s = this.sessions.get(nodeId);
    if (!s || s.stream.sessionId !== batch.sessionId) return;
    s.lastSeenMs = this.nowMs();
    for (const u of batch.updates) this.statusQueue.push({ ...u, nodeId });
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      this.flushStatus();
    }, this.config.statusBatchMs);
  }

  private flushStatus(): void {
    const queue = this.statusQueue;
    this.statusQueue = [];
    if (queue.length === 0) return;
    this.statusFlushing = this.statusFlushing.then(async () => {
      const res = await this.options.store
        .update((tx) => {
          // The newest report per task wins; a report that would move a task backwards or
          // that comes from a node the task is not on is dropped.
          const latest = new Map<string, TaskStatusUpdate & { nodeId: string }>();
          for (const u of queue) latest.set(u.taskId, u);
          for (const u of latest.values()) {
            const t = tx.tasks.get(u.taskId);
            if (!t || t.NodeID !== u.nodeId) continue;
            const next = advanceTaskStatus(t, u.status);
            if (!next.ok || next.task.Status.State === t.Status.State) {
              if (next.ok && t.Status.Message !== u.status.Message) {
                tx.tasks.update(next.task);
              }
              continue;
            }
            tx.tasks.update(next.task);
          }
        })
        .catch((err: unknown) => {
          this.log.warn({ err }, 'status write failed');
          return undefined;
        });
      if (res && !res.ok) this.log.warn({ error: res.error }, 'status write refused');
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const dirty = this.dirtyNodes;
      this.dirtyNodes = new Set();
      for (const nodeId of dirty) {
        const s = this.sessions.get(nodeId);
        if (s) this.sendDiff(s);
      }
      if (this.viewsDirty) {
        this.viewsDirty = false;
        for (const s of this.sessions.values()) this.sendView(s, false);
      }
    });
  }

  private tasksOf(nodeId: string): Task[] {
    return this.options.store.view((tx) =>
      tx.tasks.find({ by: 'nodeId', nodeId }).filter((t) => isAssignedTo(t, nodeId)),
    );
  }

  private readonly loadFile: FileLoader = (kind, id) => {
    try {
      return this.options.store.view((tx): DeliveredFile | undefined => {
        if (kind === 'config') {
          const c = tx.configs.get(id);
          return c && { ID: c.ID, Name: c.Spec.Name, Data: c.Spec.Data ?? '' };
        }
        const s = tx.secrets.get(id);
        if (!s || !this.options.openSecret) return undefined;
        const data = Buffer.from(this.options.openSecret(s)).toString('base64');
        return { ID: s.ID, Name: s.Spec.Name, Data: data };
      });
    } catch (err) {
      // The task then fails on the node with "not delivered"; the log names the object only.
      this.log.error({ err, [`${kind}.id`]: id }, `${kind} could not be delivered`);
      return undefined;
    }
  };

  private sendComplete(s: Session): void {
    const msg = s.stream.complete(this.tasksOf(s.nodeId), this.loadFile);
    this.options.bus.publish(
      dispatchSubjects.toNode(s.nodeId, dispatchTopics.assignments),
      encodeJson(msg),
    );
    this.sendView(s, true);
  }

  /** The node's network view, when it changed since the last one sent (or `always`). */
  private sendView(s: Session, always: boolean): void {
    const view = this.options.store.view((tx) => nodeNetworkView(tx, s.nodeId));
    const text = JSON.stringify(view);
    if (!always && text === s.lastView) return;
    if (!always && s.lastView === undefined && view.networks.length === 0) return;
    s.lastView = text;
    const msg: NetworkView = { sessionId: s.stream.sessionId, seq: ++s.viewSeq, ...view };
    this.options.bus.publish(
      dispatchSubjects.toNode(s.nodeId, dispatchTopics.network),
      encodeJson(msg),
    );
  }

  private sendDiff(s: Session): void {
    const msg = s.stream.diff(this.tasksOf(s.nodeId), this.loadFile);
    if (!msg) return;
    this.options.bus.publish(
      dispatchSubjects.toNode(s.nodeId, dispatchTopics.assignments),
      encodeJson(msg),
    );
  }

  private armCheck(): void {
    if (this.stopped) return;
    this.checkTimer = setTimeout(
      () => {
        void this.checkHeartbeats().finally(() => this.armCheck());
        // Every second at most: a node is down once its grace ends, not up to a period later.
      },
      Math.min(this.config.heartbeatPeriodMs, 1_000),
    );
    this.checkTimer.unref();
  }

  /** Nodes silent beyond the grace period go down; their tasks are then rescheduled. */
  async checkHeartbeats(): Promise<void> {
    const now = this.nowMs();
    const graceMs = this.config.heartbeatPeriodMs * this.config.graceMultiplier;
    const expired: string[] = [];
    for (const [id, s] of this.sessions) {
      if (now - s.lastSeenMs > graceMs) expired.push(id);
    }
    // A new leader gives nodes it never heard from one grace period to register.
    const silent =
      now - this.startedMs > graceMs
        ? this.options.store.view((tx) =>
            tx.nodes
              .find({ by: 'all' })
              .filter((n) => n.Status.State === 'ready' && !this.sessions.has(n.ID))
              .map((n) => n.ID),
          )
        : [];
    const down = [...new Set([...expired, ...silent])];
    if (down.length === 0) return;
    for (const id of expired) this.sessions.delete(id);
    this.log.warn({ nodes: down }, 'nodes missed their heartbeats: down');
    await this.options.store
      .update((tx) => {
        for (const id of down) {
          const n = tx.nodes.get(id);
          if (!n || n.Status.State === 'down') continue;
          const node = structuredClone(n) as Node;
          node.Status = { ...node.Status, State: 'down', Message: 'heartbeat failure' };
          tx.nodes.update(node);
        }
      })
      .catch((err: unknown) => this.log.warn({ err }, 'could not mark nodes down'));
  }
}
