import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalidArgument } from '../../api/errors.js';
import { DigestingStream } from './digest.js';
import { detectCompression } from './detect-format.js';
import { asTarError } from './tar-entries.js';

/** Opens an import source: a file path, "-" for stdin, or a stream. */
export function openSource(source: string | NodeJS.ReadableStream): Readable {
  if (typeof source !== 'string') {
    return source instanceof Readable ? source : Readable.from(source as AsyncIterable<Buffer>);
  }
  if (source === '-') return process.stdin;
  return createReadStream(source);
}

/**
 * Copies `input` to `file`, gunzipping it when it starts with the gzip magic, and returns the
 * digest and size of what was written (the uncompressed bytes). Refuses other compressions
 * with a message that names them.
 */
export async function copyDecompressed(
  input: Readable,
  file: string,
  what: string,
): Promise<{ digest: string; size: number; compressed: boolean }> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const pending: Buffer[] = [];
  let headLength = 0;
  try {
    while (headLength < 6) {
      const r = await iterator.next();
      if (r.done) break;
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      pending.push(chunk);
      headLength += chunk.length;
    }
  } catch (err) {
    throw openError(err, what);
  }
  const compression = detectCompression(Buffer.concat(pending));
  if (compression !== 'none' && compression !== 'gzip') {
    throw invalidArgument(
      `${what}: ${compression} compression is not supported (use gzip or none)`,
    );
  }
  const replay = Readable.from(
    (async function* () {
      yield* pending;
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
  const digesting = new DigestingStream();
  try {
    if (compression === 'gzip') {
      await pipeline(replay, createGunzip(), digesting, createWriteStream(file));
    } else {
      await pipeline(replay, digesting, createWriteStream(file));
    }
  } catch (err) {
    const e = asTarError(err, what);
    if (e !== err) throw e;
    throw openError(err, what);
  }
  return { digest: digesting.digest(), size: digesting.size, compressed: compression === 'gzip' };
}

function openError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
    return invalidArgument(`${what}: ${(err as Error).message}`, err);
  }
  return err;
}
