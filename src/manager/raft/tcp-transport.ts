import type { PeerCertificate, TLSSocket } from 'node:tls';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { invalidArgument } from '../../api/errors.js';
import { managerOu } from '../../ca/index.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { MessageHandler, RaftMessage, Server, Transport } from './types.js';

export interface TcpTransportConfig {
  /** Address to listen on, host:port (port 0 picks a free one; see `localAddress`). */
  listen: string;
  /** Address peers use to reach us when it differs from `listen` (e.g. 0.0.0.0). */
  advertise?: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Accepts a peer certificate already signed by our CA; default: manager role only. */
  authorize?: (peer: PeerCertificate) => boolean;
  /** Largest frame accepted; a bigger one closes the connection. */
  maxFrameBytes?: number;
  /** Bytes buffered towards one peer before new messages are dropped (raft resends). */
  maxQueuedBytes?: number;
  /** Pause between reconnect attempts to an unreachable peer. */
  reconnectDelayMs?: number;
  /**
   * A connection whose frames go unacknowledged this long is dead and is replaced. After a
   * partition heals, TCP's own retransmission backoff could otherwise keep it mute for a minute.
   */
  peerDeadMs?: number;
  logger?: Logger;
}

const defaultMaxFrameBytes = 256 << 20;
const defaultMaxQueuedBytes = 64 << 20;

export const defaultAuthorize = (peer: PeerCertificate): boolean => peer.subject?.OU === managerOu;

interface Peer {
  address: string;
  socket: TLSSocket | null;
  connected: boolean;
  nextAttemptMs: number;
  /** Frames waiting for the connection to come up. */
  waiting: Buffer[][];
  waitingBytes: number;
  corked: boolean;
  /** When the oldest frame not yet covered by an ack was written (undefined: all acked). */
  unackedSinceMs: number | undefined;
}

/** The one byte a receiver writes back on a connection: "frames up to here arrived". */
const ACK = Buffer.from([6]);
/** A receiver acks at most this often (and at least once after this when frames arrived). */
const ackIntervalMs = 200;

/**
 * Raft over TCP with mutual TLS: length-prefixed frames (u32 length, then a codec.ts message),
 * one long-lived outbound connection per peer that carries our messages to it, and inbound
 * connections that carry the peers' messages to us; the receiver acks on the same connection
 * (one byte, at most every 200 ms) so a sender notices a connection that died silently. A peer
 * must present a certificate from
 * the cluster CA whose CN is the `from` of every message it sends. A malformed frame closes that
 * connection only. When a peer is slow, frames beyond `maxQueuedBytes` are dropped: raft treats
 * them as lost and resends, which is the backpressure.
 */
export class TcpTransport implements Transport {
  localAddress: string;
  private readonly config: Required<Omit<TcpTransportConfig, 'advertise' | 'logger'>>;
  private readonly logger: Logger;
  private server: tls.Server | null = null;
  private handler: MessageHandler = () => {};
  private readonly peers = new Map<string, Peer>();
  private readonly inbound = new Set<TLSSocket>();
  private closed = false;
  framesDropped = 0;
  connectionsRefused = 0;

  private constructor(config: TcpTransportConfig) {
    this.config = {
      listen: config.listen,
      caPem: config.caPem,
      certPem: config.certPem,
      keyPem: config.keyPem,
      authorize: config.authorize ?? defaultAuthorize,
      maxFrameBytes: config.maxFrameBytes ?? defaultMaxFrameBytes,
      maxQueuedBytes: config.maxQueuedBytes ?? defaultMaxQueuedBytes,
      reconnectDelayMs: config.reconnectDelayMs ?? 100,
      peerDeadMs: config.peerDeadMs ?? 3_000,
    };
    this.localAddress = config.advertise ?? config.listen;
    this.logger = (config.logger ?? pino({ level: 'silent' })).child({
      component: 'raft.transport',
    });
  }

  static async listen(config: TcpTransportConfig): Promise<TcpTransport> {
    const t = new TcpTransport(config);
    await t.start(config.advertise === undefined);
    return t;
  }

  setHandler(handler: MessageHandler): void {
    this.handler = handler;
  }

  prepare(servers: readonly Server[]): void {
    if (this.closed) return;
    for (const s of servers) {
      if (s.address === this.localAddress) continue;
      const peer = this.peer(s.address);
      if (peer.socket === null && performance.now() >= peer.nextAttemptMs) this.connect(peer);
    }
  }

  send(to: Server, message: RaftMessage): void {
    if (this.closed) return;
    if (!addressPattern.test(to.address)) {
      // A server we have no address for (one removed from the configuration): like a lost frame.
      this.framesDropped++;
      return;
    }
    const peer = this.peer(to.address);
    if (
      peer.socket !== null &&
      peer.unackedSinceMs !== undefined &&
      performance.now() - peer.unackedSinceMs > this.config.peerDeadMs
    ) {
      this.logger.info({ 'peer.address': peer.address }, 'raft peer stopped acking: reconnecting');
      this.forget(peer);
    }
    const parts = encodeMessage(message);
    let size = 0;
    for (const p of parts) size += p.length;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(size);
    const frame = [len, ...parts];
    if (peer.connected && peer.socket !== null) {
      if (peer.socket.writableLength > this.config.maxQueuedBytes) {
        this.framesDropped++;
        return;
      }
      this.write(peer, frame);
      return;
    }
    if (peer.waitingBytes + size > this.config.maxQueuedBytes) {
      this.framesDropped++;
      return;
    }
    peer.waiting.push(frame);
    peer.waitingBytes += size + 4;
    this.connect(peer);
  }

  private peer(address: string): Peer {
    let peer = this.peers.get(address);
    if (peer === undefined) {
      peer = {
        address,
        socket: null,
        connected: false,
        nextAttemptMs: 0,
        waiting: [],
        waitingBytes: 0,
        corked: false,
        unackedSinceMs: undefined,
      };
      this.peers.set(address, peer);
    }
    return peer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers.values()) p.socket?.destroy();
    for (const s of this.inbound) s.destroy();
    this.peers.clear();
    this.inbound.clear();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------

  private async start(useBoundAddress: boolean): Promise<void> {
    const { host, port } = splitAddress(this.config.listen);
    const server = tls.createServer({
      ca: this.config.caPem,
      cert: this.config.certPem,
      key: this.config.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    });
    server.on('secureConnection', (socket) => this.accept(socket));
    server.on('tlsClientError', (err) => {
      this.connectionsRefused++;
      this.logger.warn({ err: err.message }, 'refused a raft peer connection');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const bound = server.address();
    if (useBoundAddress && bound !== null && typeof bound === 'object') {
      this.localAddress = joinAddress(host, bound.port);
    }
  }

  private accept(socket: TLSSocket): void {
    const cert = socket.getPeerCertificate();
    if (!this.config.authorize(cert)) {
      this.connectionsRefused++;
      this.logger.warn(
        { 'peer.cn': cert.subject?.CN },
        'refused a raft peer: certificate role not allowed',
      );
      socket.destroy();
      return;
    }
    const cn = cert.subject?.CN;
    const peerId = typeof cn === 'string' ? cn : undefined;
    this.inbound.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.inbound.delete(socket));
    socket.on('error', () => socket.destroy());
    let chunks: Buffer[] = [];
    let buffered = 0;
    let lastAckMs = 0;
    let ackTimer: NodeJS.Timeout | undefined;
    const ack = (): void => {
      ackTimer = undefined;
      if (socket.destroyed) return;
      lastAckMs = performance.now();
      socket.write(ACK);
    };
    socket.on('close', () => clearTimeout(ackTimer));
    // Bytes needed before parsing is worth a concat: a large snapshot arrives in many chunks.
    let needed = 4;
    socket.on('data', (chunk: Buffer) => {
      if (ackTimer === undefined) {
        const wait = lastAckMs + ackIntervalMs - performance.now();
        if (wait <= 0) ack();
        else ackTimer = setTimeout(ack, wait);
      }
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < needed) return;
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      let at = 0;
      while (buf.length - at >= 4) {
        const len = buf.readUInt32LE(at);
        if (len > this.config.maxFrameBytes) {
          this.dropConnection(
            socket,
            peerId,
            `frame of ${len} bytes exceeds the ${this.config.maxFrameBytes}-byte limit`,
          );
          return;
        }
        if (buf.length - at - 4 < len) break;
        const frame = buf.subarray(at + 4, at + 4 + len);
        at += 4 + len;
        let m: RaftMessage;
        try {
          m = decodeMessage(frame);
        } catch (e) {
          this.dropConnection(socket, peerId, (e as Error).message);
          return;
        }
        if (m.from !== peerId) {
          this.dropConnection(socket, peerId, `message claims to be from ${m.from}`);
          return;
        }
        this.handler(m);
        if (socket.destroyed) return;
      }
      buf = buf.subarray(at);
      chunks = buf.length === 0 ? [] : [buf];
      buffered = buf.length;
      needed = buffered >= 4 ? 4 + buf.readUInt32LE(0) : 4;
    });
  }

  private dropConnection(socket: TLSSocket, peerId: string | undefined, why: string): void {
    this.logger.warn(
      { 'peer.cn': peerId, reason: why },
      'closed a raft connection on a malformed frame',
    );
    socket.destroy();
  }

  private connect(peer: Peer): void {
    if (peer.socket !== null || this.closed) return;
    const now = performance.now();
    if (now < peer.nextAttemptMs) {
      // Still backing off: what waits now would be stale by the time we connect.
      peer.waiting = [];
      peer.waitingBytes = 0;
      return;
    }
    peer.nextAttemptMs = now + this.config.reconnectDelayMs;
    const { host, port } = splitAddress(peer.address);
    const socket = tls.connect({
      host,
      port,
      ca: this.config.caPem,
      cert: this.config.certPem,
      key: this.config.keyPem,
      minVersion: 'TLSv1.3',
      // Peers are identified by CA signature and role, not by host name: managers move.
      checkServerIdentity: (_host, cert) =>
        this.config.authorize(cert)
          ? undefined
          : new Error(`peer ${peer.address} is not a manager`),
    });
    peer.socket = socket;
    socket.setNoDelay(true);
    socket.on('secureConnect', () => {
      peer.connected = true;
      const waiting = peer.waiting;
      peer.waiting = [];
      peer.waitingBytes = 0;
      for (const f of waiting) this.write(peer, f);
    });
    // The peer acks what it received; anything but acks is a protocol error.
    socket.on('data', (chunk: Buffer) => {
      if (chunk.some((b) => b !== ACK[0])) {
        socket.destroy();
        return;
      }
      peer.unackedSinceMs = undefined;
    });
    socket.on('error', (err) => {
      this.logger.debug(
        { 'peer.address': peer.address, err: err.message },
        'raft peer connection failed',
      );
    });
    socket.on('close', () => {
      if (peer.socket === socket) this.forget(peer);
    });
  }

  /** Drops the peer's connection; the next send dials again. */
  private forget(peer: Peer): void {
    const socket = peer.socket;
    peer.socket = null;
    peer.connected = false;
    peer.waiting = [];
    peer.waitingBytes = 0;
    peer.unackedSinceMs = undefined;
    socket?.destroy();
  }

  /**
   * An idle connection gets the frame at once (a corked socket would hold the leader's
   * AppendEntries until after its own fsync); a busy one coalesces the frames of this turn of
   * the event loop into one TLS record.
   */
  private write(peer: Peer, frame: Buffer[]): void {
    const socket = peer.socket!;
    const buf = frame.length === 1 ? frame[0]! : Buffer.concat(frame);
    if (!peer.corked && socket.writableLength > 0) {
      peer.corked = true;
      socket.cork();
      process.nextTick(() => {
        peer.corked = false;
        socket.uncork();
      });
    }
    peer.unackedSinceMs ??= performance.now();
    socket.write(buf);
  }
}

const addressPattern = /^\[?([^\]]*?)\]?:(\d+)$/;

export function splitAddress(address: string): { host: string; port: number } {
  const m = addressPattern.exec(address);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument(`raft transport: address ${JSON.stringify(address)} is not host:port`);
  }
  return { host: m[1]!, port };
}

function joinAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
