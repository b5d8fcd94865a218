import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { UpstreamResolver } from '../overlay-config.js';
import type { DnsTableSpec } from './dns-table.js';
import { DnsTable } from './dns-table.js';
import type { DnsMessage, DnsRecord } from './wire.js';
import { CLASS_IN, Rcode, decodeHeaderId, decodeMessage, encodeMessage } from './wire.js';

/** A UDP socket and a TCP server on the same address and port, owned by the server. */
export interface DnsListener {
  udp: dgram.Socket;
  tcp: net.Server;
}

export interface DnsServerOptions {
  /** Names this node does not own go here, tried in order. */
  upstreams: UpstreamResolver[];
  upstreamTimeoutMs: number;
  /** The node prefix, so that cleanupAll(prefix) can find this server. */
  prefix: string;
  log?: Logger;
}

/** Without EDNS a UDP answer is at most 512 octets; longer ones set TC and the client retries on TCP. */
const MAX_UDP_ANSWER = 512;
const MAX_TCP_BUFFER = 64 * 1024 + 2;

const live = new Map<string, Set<DnsServer>>();

/** Servers started under a prefix and not closed yet (for cleanupAll). */
export function liveDnsServers(prefix: string): DnsServer[] {
  return [...(live.get(prefix) ?? [])];
}

/**
 * The node's embedded DNS: answers service names from a table the caller replaces as tasks
 * come and go, shows each client only the names of its own networks, forwards the rest.
 */
export class DnsServer {
  private table = new DnsTable();
  private readonly listeners = new Map<string, DnsListener>();
  private readonly connections = new Set<net.Socket>();
  private closed = false;

  constructor(private readonly options: DnsServerOptions) {
    const set = live.get(options.prefix) ?? new Set<DnsServer>();
    set.add(this);
    live.set(options.prefix, set);
  }

  setTable(spec: DnsTableSpec): void {
    this.table = new DnsTable(spec);
  }

  /** Serves queries arriving on these sockets until removeListener or close. */
  addListener(key: string, l: DnsListener): void {
    if (this.closed) throw new Error('dns server is closed');
    if (this.listeners.has(key)) throw new Error(`dns listener ${key} already added`);
    this.listeners.set(key, l);
    l.udp.on('message', (msg, rinfo) => {
      this.answer(msg, rinfo.address, MAX_UDP_ANSWER).then(
        (reply) => {
          if (reply && !this.closed) l.udp.send(reply, rinfo.port, rinfo.address);
        },
        (err: unknown) =>
          this.options.log?.error({ err, 'dns.client': rinfo.address }, 'no answer'),
      );
    });
    l.udp.on('error', (err) => this.options.log?.warn({ err, 'dns.listener': key }, 'udp error'));
    l.tcp.on('connection', (s) => this.serveTcp(s));
    l.tcp.on('error', (err) => this.options.log?.warn({ err, 'dns.listener': key }, 'tcp error'));
  }

  async removeListener(key: string): Promise<void> {
    const l = this.listeners.get(key);
    if (!l) return;
    this.listeners.delete(key);
    await closeListener(l);
  }

  listenerKeys(): string[] {
    return [...this.listeners.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    live.get(this.options.prefix)?.delete(this);
    for (const s of this.connections) s.destroy();
    await Promise.all([...this.listeners.values()].map(closeListener));
    this.listeners.clear();
  }

  private serveTcp(s: net.Socket): void {
    this.connections.add(s);
    s.setTimeout(10_000, () => s.destroy());
    s.on('close', () => this.connections.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > MAX_TCP_BUFFER) return void s.destroy();
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const query = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.answer(query, s.remoteAddress ?? '', 0xffff).then(
          (reply) => {
            if (reply && !s.destroyed) s.write(frame(reply));
          },
          (err: unknown) => {
            this.options.log?.error({ err, 'dns.client': s.remoteAddress }, 'no answer');
            s.destroy();
          },
        );
      }
    });
  }

  /** The reply to one query, or undefined when the packet deserves none. */
  async answer(query: Buffer, clientAddr: string, maxSize: number): Promise<Buffer | undefined> {
    let msg: DnsMessage;
    try {
      msg = decodeMessage(query);
    } catch {
      const id = decodeHeaderId(query);
      return id === undefined ? undefined : encodeMessage(reply(id, false, [], Rcode.FormErr));
    }
    if (msg.flags.qr) return undefined;
    if (msg.flags.opcode !== 0) return encodeMessage(replyTo(msg, Rcode.NotImp));
    const q = msg.questions[0];
    if (msg.questions.length !== 1 || !q) return encodeMessage(replyTo(msg, Rcode.FormErr));
    const res =
      q.class === CLASS_IN
        ? this.table.resolve(clientAddr, q.name, q.type)
        : { kind: 'forward' as const };
    switch (res.kind) {
      case 'refused':
        return encodeMessage(replyTo(msg, Rcode.Refused));
      case 'nxdomain':
        return encodeMessage(replyTo(msg, Rcode.NXDomain));
      case 'nodata':
        return encodeMessage(replyTo(msg, Rcode.NoError, [], true));
      case 'answer': {
        const out = encodeMessage(replyTo(msg, Rcode.NoError, res.records, true));
        if (out.length <= maxSize) return out;
        const truncated = replyTo(msg, Rcode.NoError, [], true);
        truncated.flags.tc = true;
        return encodeMessage(truncated);
      }
      case 'forward':
        return (
          (await this.forward(query, maxSize < 0xffff ? 'udp' : 'tcp')) ??
          encodeMessage(replyTo(msg, Rcode.ServFail))
        );
    }
  }

  private async forward(query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    for (const u of this.options.upstreams) {
      try {
        const ask = transport === 'udp' ? askUdp : askTcp;
        return await ask(u, query, this.options.upstreamTimeoutMs);
      } catch (err) {
        this.options.log?.debug({ err, 'dns.upstream': `${u.host}:${u.port}` }, 'upstream failed');
      }
    }
    return undefined;
  }
}

function reply(
  id: number,
  rd: boolean,
  questions: DnsMessage['questions'],
  rcode: number,
): DnsMessage {
  return {
    id,
    flags: { qr: true, opcode: 0, aa: false, tc: false, rd, ra: true, rcode },
    questions,
    answers: [],
    authorities: [],
    additionals: [],
  };
}

function replyTo(q: DnsMessage, rcode: number, answers: DnsRecord[] = [], aa = false): DnsMessage {
  const m = reply(q.id, q.flags.rd, q.questions, rcode);
  m.flags.aa = aa;
  m.answers = answers;
  return m;
}

function frame(b: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function askUdp(u: UpstreamResolver, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(u.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const timer = setTimeout(() => done(new Error('upstream timed out')), timeoutMs);
    const done = (err: Error | null, msg?: Buffer): void => {
      clearTimeout(timer);
      sock.close();
      if (err || !msg) reject(err ?? new Error('no answer'));
      else resolve(msg);
    };
    sock.on('error', (err) => done(err));
    sock.on('message', (msg, rinfo) => {
      // Anything but the upstream's answer to this id is ignored, not trusted.
      if (rinfo.address !== u.host || rinfo.port !== u.port || msg.length < 2) return;
      if (msg.readUInt16BE(0) === id) done(null, msg);
    });
    sock.send(query, u.port, u.host);
  });
}

function askTcp(u: UpstreamResolver, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.host, port: u.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('upstream timed out')), timeoutMs);
    const finish = (err: Error | null, msg?: Buffer): void => {
      clearTimeout(timer);
      s.destroy();
      if (err || !msg) reject(err ?? new Error('no answer'));
      else resolve(msg);
    };
    s.on('connect', () => s.write(frame(query)));
    s.on('error', (err) => finish(err));
    s.on('close', () => finish(new Error('upstream closed the connection')));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        finish(null, buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
  });
}

function closeListener(l: DnsListener): Promise<void> {
  return new Promise((resolve) => {
    let pending = 2;
    const one = (): void => {
      if (--pending === 0) resolve();
    };
    try {
      l.udp.close(one);
    } catch {
      one();
    }
    l.tcp.close(() => one());
  });
}
