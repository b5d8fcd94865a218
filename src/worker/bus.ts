/**
 * The slice of NATS the agent needs, so its session logic runs in unit tests without a
 * server (the worker's side of `src/manager/dispatcher/bus.ts`). `nats-bus.ts` backs it with
 * nats.js. The agent publishes on `tsswarm.dispatcher.<id>.*` and subscribes to
 * `tsswarm.node.<id>.*` (`dispatchSubjects` in `src/api/dispatch.ts`).
 */
export interface WorkerBus {
  /** Resolves once connected; a connection that drops later reconnects on its own. */
  connect(): Promise<void>;
  /** Connected and not closed; a connection that is reconnecting still counts as open. */
  isOpen(): boolean;
  publish(subject: string, data: Uint8Array): void;
  /** The handler sees each message's payload; the returned function unsubscribes. */
  subscribe(subject: string, handler: (data: Uint8Array) => void): () => void;
  /** Rejects when no answer comes within `timeoutMs`. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Lets pending messages go out, within a bounded wait, then closes. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decodeJson = <T>(data: Uint8Array): T => JSON.parse(decoder.decode(data)) as T;
