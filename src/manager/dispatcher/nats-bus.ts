import type { NatsConnection } from 'nats';
import type { Bus, BusMessage } from './bus.js';

/** `Bus` over a nats.js connection. */
export function natsBus(nc: NatsConnection): Bus {
  return {
    publish: (subject, data) => {
      // A closed connection (leadership lost, shutdown) drops the message like a lost one.
      if (!nc.isClosed()) nc.publish(subject, data);
    },
    subscribe(subject, handler) {
      const sub = nc.subscribe(subject, {
        callback: (err, m) => {
          if (err) return;
          const msg: BusMessage = {
            subject: m.subject,
            data: m.data,
            respond: (data) => m.respond(data),
          };
          handler(msg);
        },
      });
      return () => sub.unsubscribe();
    },
  };
}
