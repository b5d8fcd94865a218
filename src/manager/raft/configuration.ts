import type { Configuration, Server } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfiguration(c: Configuration): Uint8Array {
  return encoder.encode(JSON.stringify({ servers: c.servers }));
}

/** Configuration entries come from our own log, so a bad one is corruption, not user input. */
export function decodeConfiguration(data: Uint8Array): Configuration {
  const parsed = JSON.parse(decoder.decode(data)) as { servers?: unknown };
  if (!Array.isArray(parsed.servers)) throw new Error('raft: configuration entry without servers');
  const servers: Server[] = parsed.servers.map((s: Server) => ({
    id: String(s.id),
    address: String(s.address),
    suffrage: s.suffrage === 'voter' ? 'voter' : 'nonvoter',
  }));
  return { servers };
}
