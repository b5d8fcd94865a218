import type { Logger } from 'pino';
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
  type NodeTopic,
  type RegisterReply,
  type RegisterRequest,
  type StatusBatch,
  type TaskStatusUpdate,
} from '../api/dispatch.js';
import { ErrorCode, TsswarmError } from '../api/errors.js';
import { AssignmentTracker } from './assignment-tracker.js';
import { decodeJson as dec, encodeJson as enc, type WorkerBus } from './bus.js';
import { natsWorkerBus } from './nats-bus.js';
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
  private readonly unsubscribes: (() => void)[] = [];
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

  constructor(
    private readonly config: AgentConfig,
    executor: Executor,
    logger: Logger,
    /** Receives the managers' network views (the worker's overlay networks). */
    private readonly onNetworkView?: (view: NetworkView) => void,
    /** Where delivered secrets and configs go for the executor to mount. */
    private readonly files?: WorkerFiles,
    /** The session's link to the managers; NATS as this node unless a test gives another. */
    private readonly bus: WorkerBus = natsWorkerBus(config),
  ) {
    this.log = logger.child({ component: 'agent', 'node.id': config.nodeId });
    this.worker = new Worker(executor, (id, s) => this.queueStatus(id, s), logger, config.stateDir);
  }

  async start(): Promise<void> {
    await this.worker.start();
    await this.bus.connect();
    this.listen<AssignmentMessage>(
      dispatchTopics.assignments,
      'malformed assignment message',
      (m) => this.onAssignments(m),
    );
    this.listen<LogsRequest>(dispatchTopics.logs, 'malformed logs request', (r) =>
      this.onLogsRequest(r),
    );
    const onView = this.onNetworkView;
    if (onView) this.listen<NetworkView>(dispatchTopics.network, 'malformed network view', onView);
    this.register();
  }

  private listen<T>(topic: NodeTopic, malformed: string, handle: (msg: T) => void): void {
    const subject = dispatchSubjects.toNode(this.config.nodeId, topic);
    this.unsubscribes.push(
      this.bus.subscribe(subject, (data) => {
        try {
          handle(dec<T>(data));
        } catch (e) {
          this.log.warn({ err: e }, malformed);
        }
      }),
    );
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
      if (this.bus.isOpen()) this.bus.publish(subject, enc(chunk));
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
          const data = await this.bus.request(
            dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.register),
            enc(req),
            this.config.requestTimeoutMs,
          );
          const reply = dec<RegisterReply>(data);
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
        this.bus.publish(
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
    if (sessionId === undefined) {
      this.armHeartbeat();
      return;
    }
    try {
      const data = await this.bus.request(
        dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.heartbeat),
        enc({ sessionId }),
        this.config.requestTimeoutMs,
      );
      const reply = dec<HeartbeatReply>(data);
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
    if (!this.bus.isOpen()) {
      throw new TsswarmError(ErrorCode.Unavailable, 'not connected to the managers');
    }
    const data = await this.bus.request(
      dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.promote),
      enc(req),
      10_000,
    );
    const reply = dec<PromoteReply>(data);
    if (!reply.ok) {
      throw new TsswarmError(
        ErrorCode.PermissionDenied,
        `the leader refused the promotion: ${reply.message}`,
      );
    }
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
    if (this.sessionId === undefined || !this.bus.isOpen() || this.statusQueue.length === 0) {
      return;
    }
    const batch: StatusBatch = { sessionId: this.sessionId, updates: this.statusQueue };
    this.statusQueue = [];
    try {
      this.bus.publish(
        dispatchSubjects.fromNode(this.config.nodeId, dispatchTopics.status),
        enc(batch),
      );
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
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    for (const ac of this.logStreams.values()) ac.abort();
    await this.registering?.catch(() => undefined);
    await this.bus.close();
    await this.worker.settled();
  }
}
