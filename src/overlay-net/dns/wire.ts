import { isIPv4, isIPv6 } from 'node:net';

/** Record types this server speaks; others pass through as raw bytes. */
export const RecordType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  AAAA: 28,
  OPT: 41,
  ANY: 255,
} as const;

export const Rcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NXDomain: 3,
  NotImp: 4,
  Refused: 5,
} as const;

export const CLASS_IN = 1;

export interface DnsHeaderFlags {
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** `data` is an address for A/AAAA, a name for PTR/CNAME/NS, raw bytes for anything else. */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: string | Uint8Array;
}

export interface DnsMessage {
  id: number;
  flags: DnsHeaderFlags;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** The packet does not follow RFC 1035; the server answers FORMERR when it can read the id. */
export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

const NAME_TYPES = new Set<number>([RecordType.PTR, RecordType.CNAME, RecordType.NS]);
const MAX_NAME = 255;
const MAX_LABEL = 63;

/** Lower case, no trailing dot: the form names are compared in. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DnsFormatError('message is truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  name(): string {
    const labels: string[] = [];
    let pos = this.pos;
    let jumped = false;
    let length = 0;
    // Each pointer must go backwards, so a loop of pointers cannot run forever.
    let limit = pos;
    for (;;) {
      if (pos >= this.buf.length) throw new DnsFormatError('name runs past the message');
      const len = this.buf.readUInt8(pos);
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new DnsFormatError('name pointer is truncated');
        const target = ((len & 0x3f) << 8) | this.buf.readUInt8(pos + 1);
        if (target >= limit) throw new DnsFormatError('name pointer does not point backwards');
        if (!jumped) this.pos = pos + 2;
        jumped = true;
        limit = target;
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new DnsFormatError('unknown label type');
      pos += 1;
      if (len === 0) break;
      if (pos + len > this.buf.length) throw new DnsFormatError('label runs past the message');
      labels.push(this.buf.toString('latin1', pos, pos + len));
      length += len + 1;
      if (length > MAX_NAME) throw new DnsFormatError('name is longer than 255 octets');
      pos += len;
    }
    if (!jumped) this.pos = pos;
    return labels.join('.');
  }
}

function decodeRecord(r: Reader): DnsRecord {
  const name = r.name();
  const type = r.u16();
  const klass = r.u16();
  const ttl = r.u32();
  const rdlength = r.u16();
  const end = r.pos + rdlength;
  r.need(rdlength);
  let data: string | Uint8Array;
  if (type === RecordType.A && rdlength === 4) {
    data = [...r.bytes(4)].join('.');
  } else if (type === RecordType.AAAA && rdlength === 16) {
    const b = r.bytes(16);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    data = compressIPv6(groups);
  } else if (NAME_TYPES.has(type)) {
    data = r.name();
    if (r.pos !== end) throw new DnsFormatError('name record length does not match its name');
  } else {
    data = Uint8Array.from(r.bytes(rdlength));
  }
  r.pos = end;
  return { name, type, class: klass, ttl, data };
}

function compressIPv6(groups: string[]): string {
  const full = groups.join(':');
  // Longest run of zero groups becomes "::" (RFC 5952).
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return full;
  const head = groups.slice(0, best.start).join(':');
  const tail = groups.slice(best.start + best.len).join(':');
  return `${head}::${tail}`;
}

export function decodeHeaderId(buf: Buffer): number | undefined {
  return buf.length >= 2 ? buf.readUInt16BE(0) : undefined;
}

export function decodeMessage(buf: Buffer): DnsMessage {
  const r = new Reader(buf);
  const id = r.u16();
  const f = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()] as const;
  const flags: DnsHeaderFlags = {
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0xf,
    aa: (f & 0x0400) !== 0,
    tc: (f & 0x0200) !== 0,
    rd: (f & 0x0100) !== 0,
    ra: (f & 0x0080) !== 0,
    rcode: f & 0xf,
  };
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  }
  const section = (n: number): DnsRecord[] => Array.from({ length: n }, () => decodeRecord(r));
  const answers = section(counts[1]);
  const authorities = section(counts[2]);
  const additionals = section(counts[3]);
  return { id, flags, questions, answers, authorities, additionals };
}

class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  private readonly names = new Map<string, number>();
  /** rdlength fields written as 0 and filled in once the (compressed) name is known. */
  readonly patches: { at: number; value: number }[] = [];
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.push(b);
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.push(b);
  }
  name(name: string): void {
    const labels = canonicalForWire(name);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.length < 0x3fff) this.names.set(suffix, this.length);
      const label = Buffer.from(labels[i] as string, 'latin1');
      this.push(Buffer.from([label.length]));
      this.push(label);
    }
    this.push(Buffer.from([0]));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function canonicalForWire(name: string): string[] {
  const trimmed = name.replace(/\.$/, '');
  if (trimmed === '') return [];
  const labels = trimmed.split('.');
  for (const l of labels) {
    if (l.length === 0 || l.length > MAX_LABEL) {
      throw new DnsFormatError(`name ${JSON.stringify(name)} has an empty or too long label`);
    }
  }
  if (trimmed.length + 2 > MAX_NAME) throw new DnsFormatError(`name ${name} is too long`);
  return labels;
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  const groups = [...h, ...fill, ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

function encodeRecord(w: Writer, rec: DnsRecord): void {
  w.name(rec.name);
  w.u16(rec.type);
  w.u16(rec.class);
  w.u32(rec.ttl);
  if (typeof rec.data !== 'string') {
    w.u16(rec.data.length);
    w.push(Buffer.from(rec.data));
    return;
  }
  if (rec.type === RecordType.A) {
    if (!isIPv4(rec.data)) throw new DnsFormatError(`A record data ${rec.data} is not IPv4`);
    w.u16(4);
    w.push(Buffer.from(rec.data.split('.').map(Number)));
  } else if (rec.type === RecordType.AAAA) {
    if (!isIPv6(rec.data) || rec.data.includes('.')) {
      throw new DnsFormatError(`AAAA record data ${rec.data} is not IPv6`);
    }
    w.u16(16);
    w.push(ipv6Bytes(rec.data));
  } else if (NAME_TYPES.has(rec.type)) {
    const lengthAt = w.length;
    w.u16(0);
    const start = w.length;
    w.name(rec.data);
    w.patches.push({ at: lengthAt, value: w.length - start });
  } else {
    throw new DnsFormatError(`record type ${rec.type} needs raw bytes as data`);
  }
}

export function encodeMessage(m: DnsMessage): Buffer {
  const w = new Writer();
  w.u16(m.id);
  const f = m.flags;
  w.u16(
    (f.qr ? 0x8000 : 0) |
      ((f.opcode & 0xf) << 11) |
      (f.aa ? 0x0400 : 0) |
      (f.tc ? 0x0200 : 0) |
      (f.rd ? 0x0100 : 0) |
      (f.ra ? 0x0080 : 0) |
      (f.rcode & 0xf),
  );
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authorities.length);
  w.u16(m.additionals.length);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const r of [...m.answers, ...m.authorities, ...m.additionals]) encodeRecord(w, r);
  const out = w.concat();
  for (const p of w.patches) out.writeUInt16BE(p.value, p.at);
  return out;
}

/** The reverse-lookup name of an IPv4 address: 1.0.0.10.in-addr.arpa for 10.0.0.1. */
export function reverseName(ipv4: string): string {
  return `${ipv4.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The address a reverse-lookup name asks for, or undefined when it is not one. */
export function addressFromReverseName(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(canonicalName(name));
  if (!m) return undefined;
  const ip = [m[4], m[3], m[2], m[1]].join('.');
  return isIPv4(ip) ? ip : undefined;
}
