import type { Logger } from 'pino';
import type { NatsConnection, Subscription } from 'nats';
import type { JoinAnswer, NodeDescription, NodeRole, TaskStatus } from '../api/index.js';
import {
  dispatchSubjects,
  dispatchTopics,
  type AssignmentMessage,
  type HeartbeatReply,
  type LogsChunk,
  type LogsRequest,
  type ServiceLogLine,
  type PromoteReply,
  type PromoteRequest,
  type NetworkView,
  type RegisterReply,
  type RegisterRequest,
  type StatusBatch,
  type TaskStatusUpdate,
} from '../api/dispatch.js';
import { AssignmentTracker } from './assignment-tracker.js';
import type { WorkerFiles } from './worker-files.js';
import type { Executor } from './executor.js';
import { Worker } from './worker.js';

export interface AgentConfig {
  nodeId: string;
  /** NATS URLs of the managers' servers (tls://host:port). */
  servers: string[];
  caPem: string;
  certPem: string;
  keyPem: string;
  description: NodeDescription;
  addr: string;
  /** Where the worker keeps its assignments (`<data-root>/worker`). */
  stateDir: string;
  statusBatchMs: number;
  requestTimeoutMs: number;
  /** Told the role the managers want this node in, at each register and heartbeat. */
  onRole?: (role: NodeRole) => void;
  /** This node's log lines of a service, for `service logs` asked on any manager. */
  logSource?: (req: LogsRequest, signal: AbortSignal) => AsyncIterable<ServiceLogLine>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (v: unknown): Uint8Array => encoder.encode(JSON.stringify(v));
const dec = <T>(d: Uint8Array): T => JSON.parse(decoder.decode(d)) as T;

/**
 * The node's session with the managers over NATS: register, heartbeat at the period the
 * dispatcher asks for, apply the numbered assignment stream (resync on a gap), and send task
 * status in batches. A refused heartbeat (new leader, expired session) means register again;
 * the worker's containers keep running meanwhile.
 */
export class Agent {
  readonly worker: Worker;
  private readonly tracker = new AssignmentTracker();
  private readonly log: Logger;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private logsSub: Subscription | undefined;
  private readonly logStreams = new Map<string, AbortController>();
  private sessionId: string | undefined;
  private registering: Promise<void> | undefined;
  private early: AssignmentMessage[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatPeriodMs = 5_000;
  private statusQueue: TaskStatusUpdate[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;

  private netSub: Subscription | undefined;

  constructor(
    private readonly config: AgentConfig,
    executor: Executor,
    logger: Logger,
    /** Receives the managers' network views (the worker's overlay networks). */
    private readonly onNetworkView?: (view: NetworkView) => void,
    /** Where delivered secrets and configs go for the executor to mount. */
    private readonly files?: WorkerFiles,
  ) {
    this.log = logger.child({ component: 'agent', 'node.id': config.nodeId });
    this.worker = new Worker(executor, (id, s) => this.queueStatus(id, s), logger, config.stateDir);
  }

  async start(): Promise<void> {
    await this.worker.start();
    const { connect } = await import('nats');
    const { nodeId } = this.config;
    this.nc = await connect({
      servers: this.config.servers,
      name: nodeId,
      tls: { ca: this.config.caPem, cert: this.config.certPem, key: this.config.keyPem },
      inboxPrefix: dispatchSubjects.inboxPrefix(nodeId),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
    });
    this.sub = this.nc.subscribe(dispatchSubjects.toNode(nodeId, dispatchTopics.assignments), {
      callback: (err, m) => {
        if (err) return;
        try {
          this.onAssignments(dec<AssignmentMessage>(m.data));
        } catch (e) {
          this.log.warn({ err: e }, 'malformed assignment message');
        }
      },
    });
    this.logsSub = this.nc.subscribe(dispatchSubjects.toNode(nodeId, dispatchTopics.logs), {
      callback: (err, m) => {
        if (err) return;
        try {
          this.onLogsRequest(dec<LogsRequest>(m.data));
        } catch (e) {
          this.log.warn({ err: e }, 'malformed logs request');
        }
      },
    });
    const onView = this.onNetworkView;
    if (onView) {
      this.netSub = this.nc.subscribe(dispatchSubjects.toNode(nodeId, dispatchTopics.network), {
        callback: (err, m) => {
          if (err) return;
          try {
            onView(dec<NetworkView>(m.data));
          } catch (e) {
            this.log.warn({ err: e }, 'malformed network view');
          }
        },
      });
    }
    this.register();
  }

  /** Streams this node's lines of a service back to the manager that asked, in batches. */
  private onLogsRequest(req: LogsRequest): void {
    if (req.cancel) {
      this.logStreams.get(req.requestId)?.abort();
      return;
    }
    const source = this.config.logSource;
    const subject = dispatchSubjects.logStream(this.config.nodeId, req.requestId);
    const ac = new AbortController();
    this.logStreams.set(req.requestId, ac);
    const send = (chunk: LogsChunk): void => {
      if (this.nc && !this.nc.isClosed()) this.nc.publish(subject, enc(chunk));
    };
    void (async () => {
      let batch: ServiceLogLine[] = [];
      let timer: NodeJS.Timeout | undefined;
      const flush = (): void => {
        clearTimeout(timer);
        timer = undefined;
        if (batch.length > 0) send({ lines: batch });
        batch = [];
      };
      try {
        if (source) {
          for await (const line of source(req, ac.signal)) {
            batch.push(line);
            if (batch.length >= 256) flush();
            else timer ??= setTimeout(flush, 20);
          }
        }
        flush();
        send({ done: true });
      } catch (err) {
        flush();
        send({ done: true, error: err instanceof Error ? err.message : String(err) });
      } finally {
        this.logStreams.delete(req.requestId);
      }
    })();
  }

  private register(): void {
    if (this.stopped || this.registering) return;
    this.sessionId = undefined;
    this.registering = (async () => {
      let delayMs = 100;
      while (!this.stopped) {
        try {
          const req: RegisterRequest = {
            nodeId: this.config.nodeId,
            description: this.config.description,
            addr: this.config.addr,
          };
          const m = await this.nc!.request(
            dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.register),
            enc(req),
            { timeout: this.config.requestTimeoutMs },
          );
          const reply = dec<RegisterReply>(m.data);
          this.sessionId = reply.sessionId;
          this.heartbeatPeriodMs = reply.heartbeatPeriodMs;
          if (reply.role) this.config.onRole?.(reply.role);
          this.tracker.reset(reply.sessionId);
          this.log.info({ 'session.id': reply.sessionId }, 'registered');
          const early = this.early;
          this.early = [];
          for (const msg of early) this.onAssignments(msg);
          this.armHeartbeat();
          // A new session may mean a new leader that missed reports sent to the old one (or to
          // no one): send where every task is now, after anything still queued.
          this.statusQueue.push(...this.worker.statuses());
          this.flushStatus();
          return;
        } catch (err) {
          if (this.stopped) return;
          this.log.debug({ err }, 'register failed; retrying');
          await new Promise((r) => setTimeout(r, delayMs));
          delayMs = Math.min(delayMs * 2, 2_000);
        }
      }
    })().finally(() => {
      this.registering = undefined;
    });
  }

  private onAssignments(msg: AssignmentMessage): void {
    if (this.sessionId === undefined) {
      // The complete set can overtake the register reply: keep it until we know the session.
      this.early.push(msg);
      return;
    }
    const r = this.tracker.apply(msg);
    if (r.type === 'apply') {
      this.applying = this.applying
        .then(() => {
          this.files?.set(r.secrets, r.configs);
          return this.worker.reconcile(r.tasks);
        })
        .catch((err: unknown) => this.log.warn({ err }, 'reconcile failed'));
    } else if (r.type === 'gap') {
      this.log.warn({ 'seq.last': r.lastSeq, 'seq.got': msg.seq }, 'assignment gap: resync');
      try {
        this.nc?.publish(
          dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.resync),
          enc({ sessionId: this.sessionId, lastSeq: r.lastSeq }),
        );
      } catch (err) {
        this.log.debug({ err }, 'resync not sent');
      }
    }
  }

  private armHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.stopped) return;
    this.heartbeatTimer = setTimeout(() => {
      void this.heartbeat();
    }, this.heartbeatPeriodMs);
  }

  private async heartbeat(): Promise<void> {
    const sessionId = this.sessionId;
    if (sessionId === undefined || !this.nc) {
      this.armHeartbeat();
      return;
    }
    try {
      const m = await this.nc.request(
        dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.heartbeat),
        enc({ sessionId }),
        { timeout: this.config.requestTimeoutMs },
      );
      const reply = dec<HeartbeatReply>(m.data);
      if (!reply.ok) {
        this.log.info('session unknown to the dispatcher: registering again');
        this.register();
        return;
      }
      this.heartbeatPeriodMs = reply.heartbeatPeriodMs;
      if (reply.role) this.config.onRole?.(reply.role);
    } catch (err) {
      this.log.debug({ err }, 'heartbeat failed');
    }
    this.armHeartbeat();
  }

  /** A promoted node asks the leader for its manager credentials. */
  async requestPromotion(req: PromoteRequest): Promise<JoinAnswer> {
    if (!this.nc) throw new Error('not connected to the managers');
    const m = await this.nc.request(
      dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.promote),
      enc(req),
      { timeout: 10_000 },
    );
    const reply = dec<PromoteReply>(m.data);
    if (!reply.ok) throw new Error(`the leader refused the promotion: ${reply.message}`);
    return reply.answer;
  }

  private queueStatus(taskId: string, status: TaskStatus): void {
    this.statusQueue.push({ taskId, status });
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      this.flushStatus();
    }, this.config.statusBatchMs);
  }

  private flushStatus(): void {
    const nc = this.nc;
    if (this.sessionId === undefined || !nc || nc.isClosed() || this.statusQueue.length === 0) {
      return;
    }
    const batch: StatusBatch = { sessionId: this.sessionId, updates: this.statusQueue };
    this.statusQueue = [];
    try {
      nc.publish(dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.status), enc(batch));
    } catch (err) {
      // Closing (leave, shutdown): the next session's complete set carries the truth anyway.
      this.log.debug({ err }, 'status not sent');
    }
  }

  /** Ends the session; containers keep running (the next daemon adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.flushStatus();
    await this.applying;
    this.sub?.unsubscribe();
    this.logsSub?.unsubscribe();
    for (const ac of this.logStreams.values()) ac.abort();
    this.netSub?.unsubscribe();
    await this.registering?.catch(() => undefined);
    // drain() can wait on a server that is going away; close after a bounded wait.
    const nc = this.nc;
    if (nc) {
      await Promise.race([
        nc.drain().catch(() => undefined),
        new Promise((r) => setTimeout(r, 2_000)),
      ]);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
    await this.worker.settled();
  }
}
