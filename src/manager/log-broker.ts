import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type { Task } from '../api/index.js';
import {
  dispatchSubjects,
  dispatchTopics,
  type LogsChunk,
  type LogsRequest,
  type ServiceLogLine,
} from '../api/dispatch.js';
import type { RootCa } from '../ca/index.js';
import { bounded } from './bounded.js';
import type { ManagerConfig } from './manager-config.js';
import { connectAsNode } from './node-connection.js';

export interface ServiceLogsQuery {
  serviceId: string;
  tasks: Task[];
  tail?: number;
  sinceMs?: number;
  follow: boolean;
  signal: AbortSignal;
}

/**
 * `service logs` on any manager: each node that ran a task of the service streams its lines
 * here over NATS (docker's log broker, without the leader in the path), on this manager's own
 * connection (leader or not), opened on first use.
 */
export class LogBroker {
  private clientNc: Promise<NatsConnection> | undefined;

  constructor(
    private readonly config: ManagerConfig,
    /** The CA exists once the manager has started. */
    private readonly ca: () => RootCa | undefined,
  ) {}

  private natsClient(): Promise<NatsConnection> {
    this.clientNc ??= connectAsNode(this.config, this.ca(), 'client');
    const p = this.clientNc;
    p.catch(() => {
      if (this.clientNc === p) this.clientNc = undefined;
    });
    return p;
  }

  /**
   * Without `follow` the stream ends when every node said done, or went silent for 5 s (a
   * node that is down).
   */
  serviceLogs(o: ServiceLogsQuery): AsyncIterable<ServiceLogLine> {
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

  async close(): Promise<void> {
    const client = this.clientNc;
    this.clientNc = undefined;
    await bounded(
      client?.then((nc) => nc.close()),
      2_000,
    );
  }
}
