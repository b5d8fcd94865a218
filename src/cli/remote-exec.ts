import type { Duplex, Writable } from 'node:stream';
import { ErrorCode, TsswarmError, type WireError } from '../api/errors.js';
import { encodeFrame, encodeFrames, FrameDecoder, FrameError, Stream } from '../api/exec-frames.js';

export interface ExecIo {
  /** Forwarded to the command (`exec -i`); without it the command gets no stdin. */
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * The client half of an exec over an upgraded connection (see src/api/exec-frames.ts):
 * stdin out as frames with an empty frame at its end, stdout and stderr in, kept apart and
 * byte for byte; resolves with the command's exit code.
 */
export function pumpExecClient(socket: Duplex, head: Buffer, io: ExecIo): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const decoder = new FrameDecoder([Stream.stdout, Stream.stderr, Stream.exit]);
    let exit: ({ ExitCode?: number } & Partial<WireError>) | undefined;
    const stopInput = (): void => {
      if (!io.stdin) return;
      io.stdin.removeListener('data', onInput);
      io.stdin.removeListener('end', onInputEnd);
      io.stdin.pause();
    };
    const onInput = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let ok = true;
      for (const f of encodeFrames(Stream.stdin, buf)) ok = socket.write(f) && ok;
      if (!ok) {
        io.stdin?.pause();
        socket.once('drain', () => io.stdin?.resume());
      }
    };
    const onInputEnd = (): void => {
      if (!socket.destroyed) socket.write(encodeFrame(Stream.stdin));
    };
    const onData = (chunk: Buffer): void => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        socket.destroy();
        reject(new TsswarmError(ErrorCode.Internal, `exec stream from the daemon: ${err.message}`));
        return;
      }
      for (const f of frames) {
        if (f.stream === Stream.exit) {
          try {
            exit = JSON.parse(f.payload.toString('utf8')) as typeof exit;
          } catch {
            exit = { code: ErrorCode.Internal, message: 'exec: a malformed exit frame' };
          }
          // The command is over: what it did not read of our input no longer matters, and
          // the daemon may be done reading it.
          finish();
          return;
        }
        const out = f.stream === Stream.stdout ? io.stdout : io.stderr;
        // A slow reader of our output slows the command down instead of filling memory.
        if (!out.write(f.payload) && !socket.isPaused()) {
          socket.pause();
          resumeWhenDrained();
        }
      }
    };
    /** Reads on once neither of our outputs holds back (both may be full at once). */
    const resumeWhenDrained = (): void => {
      const full = [io.stdout, io.stderr].find((o) => (o as Writable).writableNeedDrain);
      if (full) full.once('drain', resumeWhenDrained);
      else if (!finishing) socket.resume();
    };
    /** Resolves once what was written to `out` has left its buffer. */
    const drained = (out: NodeJS.WritableStream): Promise<void> =>
      (out as Writable).writableNeedDrain
        ? new Promise((r) => out.once('drain', () => r()))
        : Promise.resolve();
    socket.on('data', onData);
    socket.on('error', () => undefined);
    let finishing = false;
    const finish = (): void => {
      if (finishing) return;
      finishing = true;
      stopInput();
      void Promise.all([drained(io.stdout), drained(io.stderr)]).then(() => {
        settle();
        socket.destroy();
      });
    };
    socket.on('close', finish);
    const settle = (): void => {
      if (exit?.ExitCode !== undefined) resolve(exit.ExitCode);
      else if (exit?.code !== undefined)
        reject(new TsswarmError(exit.code, exit.message ?? 'exec failed'));
      else
        reject(
          new TsswarmError(
            ErrorCode.Unavailable,
            'the connection to the daemon closed before the command ended',
          ),
        );
    };
    if (head.length > 0) onData(head);
    if (io.stdin) {
      io.stdin.on('data', onInput);
      io.stdin.on('end', onInputEnd);
    } else {
      // No stdin: the command reads end-of-file at once.
      socket.write(encodeFrame(Stream.stdin));
    }
  });
}
