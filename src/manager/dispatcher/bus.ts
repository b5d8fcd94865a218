/**
 * The slice of NATS the dispatcher needs, so its logic runs in unit tests without a server.
 * `nats-bus.ts` backs it with nats.js.
 */
export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /** Answers a request; false when the sender expected no reply. */
  respond(data: Uint8Array): boolean;
}

export interface Bus {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: (msg: BusMessage) => void): () => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decodeJson = <T>(data: Uint8Array): T => JSON.parse(decoder.decode(data)) as T;
