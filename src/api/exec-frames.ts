/**
 * The framing of an exec's stdio over an upgraded HTTP connection, docker's multiplexed stream
 * header extended by two rules:
 *
 *   ┌────────┬───────┬──────────────┬─────────────┐
 *   │ stream │ 0 0 0 │ length, u32be│ payload …   │
 *   └────────┴───────┴──────────────┴─────────────┘
 *
 * Client → daemon: `stdin` frames; a zero-length `stdin` frame is the end of input (no TLS
 * half-close needed). Daemon → client: `stdout` and `stderr` frames, then one `exit` frame whose
 * payload is JSON, `{ExitCode}` or an error `{code, message}`, then the daemon closes.
 */
export const Stream = { stdin: 0, stdout: 1, stderr: 2, exit: 3 } as const;
export type Stream = (typeof Stream)[keyof typeof Stream];

export const frameHeaderBytes = 8;
/** Larger frames are a protocol error: a peer cannot make the other buffer without bound. */
export const maxFramePayloadBytes = 1 << 20;

export interface Frame {
  stream: Stream;
  payload: Buffer;
}

/** One frame; payloads above the limit are split by `encodeFrames`. */
export function encodeFrame(stream: Stream, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(frameHeaderBytes);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** `payload` as frames of at most `maxFramePayloadBytes` each (none for an empty payload). */
export function encodeFrames(stream: Stream, payload: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < payload.length; at += maxFramePayloadBytes) {
    out.push(encodeFrame(stream, payload.subarray(at, at + maxFramePayloadBytes)));
  }
  return out;
}

export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Cuts a byte stream into frames, whatever the chunk boundaries: a header or payload split
 * over several chunks waits for the rest.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly allowed: readonly Stream[]) {}

  /** The frames completed by `chunk`; throws FrameError on an unknown stream or a huge frame. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.pendingBytes >= frameHeaderBytes) {
      const head = this.peek(frameHeaderBytes);
      const stream = head[0] as Stream;
      if (!this.allowed.includes(stream) || head[1] !== 0 || head[2] !== 0 || head[3] !== 0) {
        throw new FrameError(`bad frame header ${head.toString('hex')}`);
      }
      const length = head.readUInt32BE(4);
      if (length > maxFramePayloadBytes) {
        throw new FrameError(`frame of ${length} bytes exceeds ${maxFramePayloadBytes}`);
      }
      if (this.pendingBytes < frameHeaderBytes + length) break;
      const all = this.take(frameHeaderBytes + length);
      frames.push({ stream, payload: all.subarray(frameHeaderBytes) });
    }
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  get buffered(): number {
    return this.pendingBytes;
  }

  private peek(n: number): Buffer {
    if ((this.pending[0]?.length ?? 0) < n) this.pending = [Buffer.concat(this.pending)];
    return (this.pending[0] ?? Buffer.alloc(0)).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all =
      this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = all.length > n ? [all.subarray(n)] : [];
    this.pendingBytes -= n;
    return all.subarray(0, n);
  }
}
