import { ErrorCode, TsswarmError, invalidArgument } from '../../api/errors.js';
import type { Configuration, Server } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfiguration(c: Configuration): Uint8Array {
  return encoder.encode(JSON.stringify({ servers: c.servers }));
}

/** Configuration entries come from our own log, so a bad one is corruption, not user input. */
export function decodeConfiguration(data: Uint8Array): Configuration {
  const parsed = JSON.parse(decoder.decode(data)) as { servers?: unknown };
  if (!Array.isArray(parsed.servers)) {
    throw new TsswarmError(ErrorCode.DataCorrupt, 'raft: configuration entry without servers');
  }
  const servers: Server[] = parsed.servers.map((s: Server) => ({
    id: String(s.id),
    address: String(s.address),
    suffrage: s.suffrage === 'voter' ? 'voter' : 'nonvoter',
  }));
  return { servers };
}

/** Checks a configuration a caller proposes (bootstrap, membership change). */
export function checkConfiguration(c: Configuration): void {
  const seen = new Set<string>();
  for (const s of c.servers) {
    if (typeof s.id !== 'string' || s.id.length === 0) {
      throw invalidArgument('raft configuration: a server has an empty id');
    }
    if (seen.has(s.id)) throw invalidArgument(`raft configuration: server ${s.id} appears twice`);
    seen.add(s.id);
    if (typeof s.address !== 'string' || s.address.length === 0) {
      throw invalidArgument(`raft configuration: server ${s.id} has an empty address`);
    }
    if (s.suffrage !== 'voter' && s.suffrage !== 'nonvoter') {
      throw invalidArgument(
        `raft configuration: server ${s.id} has suffrage ${String(s.suffrage)}`,
      );
    }
  }
  if (!c.servers.some((s) => s.suffrage === 'voter')) {
    throw invalidArgument('raft configuration: at least one voter is required');
  }
}
