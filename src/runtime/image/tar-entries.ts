import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { invalidArgument, TsswarmError } from '../../api/errors.js';

/** One member of a tarball: its header, and its content as a stream to read or resume. */
export interface TarEntry {
  header: Header;
  content: Readable;
}

/**
 * Calls `fn` for each member of the tarball `input`, in order, waiting for it. A corrupt or
 * truncated input becomes InvalidArgument naming `what`; an error thrown by `fn` wins over the
 * "premature close" it causes. `fn` must consume or resume the content.
 */
export async function forEachTarEntry(
  input: Readable,
  what: string,
  fn: (entry: TarEntry) => Promise<void>,
): Promise<void> {
  const extract = tar.extract();
  let current: { destroy(err?: Error): void } | undefined;
  let failure: unknown;
  // A truncated input fails the source while an entry is half read: destroy that entry too,
  // or whoever copies it would wait forever.
  const source = pipeline(input, extract).catch((err: unknown) => {
    failure ??= err;
    current?.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  try {
    for await (const entry of extract) {
      current = entry;
      await fn({ header: entry.header, content: entry as unknown as Readable });
      current = undefined;
    }
    await source;
  } catch (err) {
    await source;
    if (err instanceof TsswarmError) throw err;
    throw asTarError(failure ?? err, what);
  }
  if (failure !== undefined) throw asTarError(failure, what);
}

/** Turns tar-stream's and zlib's messages for broken input into one InvalidArgument. */
export function asTarError(err: unknown, what: string): unknown {
  if (!(err instanceof Error) || err instanceof TsswarmError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === undefined || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    // tar-stream's own errors carry no code: bad checksums, unexpected end of data.
    return invalidArgument(`${what}: corrupt or truncated tarball: ${err.message}`, err);
  }
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return invalidArgument(`${what}: corrupt or truncated gzip stream: ${err.message}`, err);
  }
  return err;
}
