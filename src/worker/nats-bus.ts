import { connect, type NatsConnection } from 'nats';
import { dispatchSubjects } from '../api/dispatch.js';
import { ErrorCode, TsswarmError } from '../api/errors.js';
import type { WorkerBus } from './bus.js';

export interface NatsWorkerBusOptions {
  nodeId: string;
  /** NATS URLs of the managers' servers (tls://host:port). */
  servers: string[];
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** `WorkerBus` over a nats.js connection as this node: its certificate, its own inboxes. */
export function natsWorkerBus(options: NatsWorkerBusOptions): WorkerBus {
  let nc: NatsConnection | undefined;
  const connection = (): NatsConnection => {
    if (!nc) throw new TsswarmError(ErrorCode.Unavailable, 'not connected to the managers');
    return nc;
  };
  return {
    async connect() {
      nc = await connect({
        servers: options.servers,
        name: options.nodeId,
        tls: { ca: options.caPem, cert: options.certPem, key: options.keyPem },
        inboxPrefix: dispatchSubjects.inboxPrefix(options.nodeId),
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        waitOnFirstConnect: true,
      });
    },
    isOpen: () => nc !== undefined && !nc.isClosed(),
    publish: (subject, data) => connection().publish(subject, data),
    subscribe(subject, handler) {
      const sub = connection().subscribe(subject, {
        callback: (err, m) => {
          if (!err) handler(m.data);
        },
      });
      return () => sub.unsubscribe();
    },
    async request(subject, data, timeoutMs) {
      return (await connection().request(subject, data, { timeout: timeoutMs })).data;
    },
    async close() {
      if (!nc) return;
      const c = nc;
      // drain() can wait on a server that is going away; close after a bounded wait.
      await Promise.race([
        c.drain().catch(() => undefined),
        new Promise((r) => setTimeout(r, 2_000)),
      ]);
      if (!c.isClosed()) await c.close().catch(() => undefined);
    },
  };
}
