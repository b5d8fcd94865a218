import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, TsswarmError, type WireError } from '../api/errors.js';
import { encodeFrame, FrameDecoder, FrameError, Stream } from '../api/exec-frames.js';
import type { ExecProcess } from '../runtime/index.js';

/**
 * Exec instances between `POST /containers/:ref/exec` (checked, not started) and
 * `POST /exec/:id/start` (an HTTP upgrade that streams the stdio). An id is 256 random bits,
 * good for one start, and forgotten after `ttlMs`.
 *
 *   CLI ──POST /containers/c1/exec {Cmd…}──▶ add(start) ─▶ {Id}
 *   CLI ──POST /exec/Id/start, Upgrade: tcp──▶ take(Id) ─▶ start() ─▶ 101, then frames
 */
export class ExecSessions {
  private readonly pending = new Map<string, { start: () => ExecProcess; timer: NodeJS.Timeout }>();

  constructor(private readonly ttlMs = 30_000) {}

  add(start: () => ExecProcess): string {
    const id = randomBytes(32).toString('hex');
    const timer = setTimeout(() => this.pending.delete(id), this.ttlMs);
    timer.unref();
    this.pending.set(id, { start, timer });
    return id;
  }

  /** The starter of `id`, once: a second take, or one after expiry, gets undefined. */
  take(id: string): (() => ExecProcess) | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    return p.start;
  }

  get size(): number {
    return this.pending.size;
  }
}

/**
 * Serves `POST /exec/:id/start` upgrades on `server` (fastify does not route upgrades).
 * `authorize` answers an error for a caller that may not exec (a worker's certificate over
 * TCP), else undefined. Any other upgrade is answered 404.
 */
export function serveExecUpgrades(
  server: Server,
  sessions: ExecSessions,
  authorize: (req: IncomingMessage) => Promise<WireError | undefined>,
): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    void (async () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const m = /^\/exec\/([^/]+)\/start$/.exec(path);
      if (req.method !== 'POST' || !m?.[1]) {
        refuse(socket, 404, {
          code: ErrorCode.NotFound,
          message: `no upgrade at ${req.method} ${path}`,
        });
        return;
      }
      const denied = await authorize(req);
      if (denied) {
        refuse(socket, 403, denied);
        return;
      }
      const start = sessions.take(m[1]);
      if (!start) {
        refuse(socket, 404, {
          code: ErrorCode.NotFound,
          message: `No such exec instance: ${m[1].slice(0, 12)} (unknown, expired or already started)`,
        });
        return;
      }
      let proc: ExecProcess;
      try {
        proc = start();
      } catch (err) {
        const e =
          err instanceof TsswarmError
            ? err.toWire()
            : { code: ErrorCode.Internal, message: (err as Error).message };
        const status: Partial<Record<string, number>> = {
          [ErrorCode.NotFound]: 404,
          [ErrorCode.Conflict]: 409,
          [ErrorCode.InvalidArgument]: 400,
        };
        refuse(socket, status[e.code] ?? 500, e);
        return;
      }
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
      );
      await pumpExec(proc, socket, head);
    })().catch(() => socket.destroy());
  });
}

function refuse(socket: Duplex, status: number, e: WireError): void {
  const body = JSON.stringify(e);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Input bytes the daemon holds for a command that has not read them yet. */
const STDIN_BACKLOG = 4 * 1024 * 1024;

/**
 * Moves one exec's stdio over `socket` in frames until the command ends, then sends its exit
 * code and closes. The connection going away first kills the command.
 */
export async function pumpExec(proc: ExecProcess, socket: Duplex, head: Buffer): Promise<void> {
  let finished = false;
  // The server's sockets allow half-open connections, so a client gone away shows first as
  // 'end'; the protocol ends stdin with a frame, so a client never half-closes on purpose.
  const gone = (): void => {
    if (finished) return;
    proc.kill();
    // Output paused for a full connection would never end, nor would the exit be seen.
    proc.stdout.resume();
    proc.stderr.resume();
  };
  socket.on('end', gone);
  socket.on('close', gone);
  if (socket.destroyed) gone();
  // Output: a frame per chunk, paused while the connection's buffer is full; dropped once the
  // client is gone (a write to a closed socket would pause the stream for good).
  for (const [stream, from] of [
    [Stream.stdout, proc.stdout],
    [Stream.stderr, proc.stderr],
  ] as const) {
    from.on('data', (chunk: Buffer) => {
      if (socket.destroyed || socket.writableEnded) return;
      if (!socket.write(encodeFrame(stream, chunk))) {
        from.pause();
        socket.once('drain', () => from.resume());
      }
    });
  }
  // Input: frames to the command's stdin; a zero-length frame is its end. The connection is
  // read on until STDIN_BACKLOG bytes wait for the command, so a client that goes away is seen
  // (a paused socket would never see its end); past that, it waits for the command to read.
  const decoder = new FrameDecoder([Stream.stdin]);
  const stdin = proc.stdin;
  const writable = (): boolean => !!stdin && !stdin.destroyed && !stdin.writableEnded;
  const resumeInput = (): void => {
    if (!socket.destroyed) socket.resume();
  };
  stdin?.on('drain', resumeInput);
  // A command that exits without reading all its input: nothing will drain, read on.
  stdin?.on('close', resumeInput);
  stdin?.on('error', resumeInput);
  const onData = (chunk: Buffer): void => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      proc.kill();
      socket.destroy();
      return;
    }
    for (const f of frames) {
      if (!writable()) continue; // the command no longer reads: the input is dropped
      if (f.payload.length === 0) stdin?.end();
      else stdin?.write(f.payload);
    }
    if (writable() && (stdin?.writableLength ?? 0) > STDIN_BACKLOG) socket.pause();
  };
  socket.on('data', onData);
  if (head.length > 0) onData(head);
  const exitCode = await proc.exited;
  finished = true;
  // Whatever input still comes is read and dropped, so the client's end reaches us; a client
  // that never closes is cut off after a while.
  socket.removeListener('data', onData);
  socket.on('data', () => undefined);
  socket.resume();
  socket.end(encodeFrame(Stream.exit, Buffer.from(JSON.stringify({ ExitCode: exitCode }))));
  setTimeout(() => socket.destroy(), 10_000).unref();
}
