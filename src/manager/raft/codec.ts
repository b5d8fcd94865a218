import { invalidArgument } from '../../api/errors.js';
import type { EntryType, LogEntry, RaftMessage, SnapshotMeta } from './types.js';

/**
 * Wire form of a message: u32 header length, a JSON header, then the binary payloads the header
 * describes by length (entry data, snapshot data). JSON keeps the header debuggable; the bulk
 * bytes never pass through it.
 */
export function encodeMessage(m: RaftMessage): Buffer[] {
  let header: unknown;
  const blobs: Uint8Array[] = [];
  if (m.type === 'append') {
    header = {
      ...m,
      entries: m.entries.map((e) => {
        blobs.push(e.data);
        return [e.index, e.term, e.type, e.data.length];
      }),
    };
  } else if (m.type === 'install-snapshot') {
    blobs.push(m.data);
    header = { ...m, data: m.data.length };
  } else {
    header = m;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(json.length);
  return [len, json, ...blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
}

/**
 * Throws an error naming what is wrong (TSS_INVALID_ARGUMENT, or JSON.parse's SyntaxError); the
 * transport closes that connection.
 */
export function decodeMessage(buf: Buffer): RaftMessage {
  if (buf.length < 4) throw invalidArgument('frame shorter than its header length');
  const jsonLen = buf.readUInt32LE(0);
  if (4 + jsonLen > buf.length) throw invalidArgument('header runs past the end of the frame');
  const h = JSON.parse(buf.toString('utf8', 4, 4 + jsonLen)) as Record<string, unknown>;
  let at = 4 + jsonLen;
  const take = (n: unknown): Uint8Array => {
    if (!isIndex(n) || at + n > buf.length)
      throw invalidArgument('payload runs past the end of the frame');
    const out = new Uint8Array(buf.subarray(at, at + n));
    at += n;
    return out;
  };
  const term = index(h, 'term');
  const from = str(h, 'from');
  let m: RaftMessage;
  switch (h.type) {
    case 'vote':
      m = {
        type: 'vote',
        term,
        from,
        preVote: bool(h, 'preVote'),
        lastLogIndex: index(h, 'lastLogIndex'),
        lastLogTerm: index(h, 'lastLogTerm'),
        transfer: bool(h, 'transfer'),
      };
      break;
    case 'vote-response':
      m = {
        type: 'vote-response',
        term,
        from,
        preVote: bool(h, 'preVote'),
        granted: bool(h, 'granted'),
      };
      break;
    case 'append': {
      if (!Array.isArray(h.entries)) throw invalidArgument('append without entries');
      const entries: LogEntry[] = (h.entries as unknown[]).map((e) => {
        if (!Array.isArray(e) || e.length !== 4) throw invalidArgument('malformed entry');
        const [i, t, type, n] = e as [unknown, unknown, unknown, unknown];
        if (!isIndex(i) || !isIndex(t)) throw invalidArgument('malformed entry index or term');
        if (type !== 'command' && type !== 'noop' && type !== 'config')
          throw invalidArgument('unknown entry type');
        return { index: i, term: t, type: type as EntryType, data: take(n) };
      });
      m = {
        type: 'append',
        term,
        from,
        prevLogIndex: index(h, 'prevLogIndex'),
        prevLogTerm: index(h, 'prevLogTerm'),
        entries,
        leaderCommit: index(h, 'leaderCommit'),
        seq: index(h, 'seq'),
      };
      break;
    }
    case 'append-response':
      m = {
        type: 'append-response',
        term,
        from,
        success: bool(h, 'success'),
        index: index(h, 'index'),
        hint: index(h, 'hint'),
        seq: index(h, 'seq'),
      };
      break;
    case 'install-snapshot': {
      const meta = h.meta as SnapshotMeta | undefined;
      if (
        typeof meta !== 'object' ||
        meta === null ||
        !isIndex(meta.index) ||
        !isIndex(meta.term) ||
        !isIndex(meta.configurationIndex) ||
        !Array.isArray(meta.configuration?.servers)
      ) {
        throw invalidArgument('install-snapshot with malformed metadata');
      }
      m = { type: 'install-snapshot', term, from, meta, data: take(h.data), seq: index(h, 'seq') };
      break;
    }
    case 'install-snapshot-response':
      m = {
        type: 'install-snapshot-response',
        term,
        from,
        success: bool(h, 'success'),
        index: index(h, 'index'),
        seq: index(h, 'seq'),
      };
      break;
    case 'timeout-now':
      m = { type: 'timeout-now', term, from };
      break;
    default:
      throw invalidArgument(`unknown message type ${JSON.stringify(h.type)}`);
  }
  if (at !== buf.length) throw invalidArgument('trailing bytes after the payload');
  return m;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function index(h: Record<string, unknown>, key: string): number {
  const v = h[key];
  if (!isIndex(v)) throw invalidArgument(`field ${key} must be a non-negative integer`);
  return v;
}
function str(h: Record<string, unknown>, key: string): string {
  const v = h[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 256)
    throw invalidArgument(`field ${key} must be a short string`);
  return v;
}
function bool(h: Record<string, unknown>, key: string): boolean {
  const v = h[key];
  if (typeof v !== 'boolean') throw invalidArgument(`field ${key} must be a boolean`);
  return v;
}
