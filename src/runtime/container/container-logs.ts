// `logs`: the container's json-file log, read from an offset; `follow` waits for more.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { containerState } from './container-state.js';
import type { RuntimeContext } from './runtime-context.js';
import type { LogEntry, LogOptions } from './types.js';
import { waitForChange } from './wait-for-change.js';

export async function* containerLogs(
  ctx: RuntimeContext,
  ref: string,
  opts: LogOptions = {},
): AsyncGenerator<LogEntry> {
  const id = ctx.store.resolve(ref);
  const p = ctx.store.paths(id);
  let offset = 0;
  let rest = '';
  const readNew = (): LogEntry[] => {
    let fd: number;
    try {
      fd = openSync(p.log, 'r');
    } catch {
      return [];
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= offset) return [];
      const buf = Buffer.alloc(size - offset);
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      const text = rest + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      return lines.filter((l) => l !== '').map(parseLogLine);
    } finally {
      closeSync(fd);
    }
  };
  let first = readNew();
  if (opts.tail !== undefined) first = opts.tail <= 0 ? [] : first.slice(-opts.tail);
  for (const e of first) yield e;
  if (!opts.follow) return;
  for (;;) {
    // Decided before reading: once the container has exited its log is complete, so the
    // read that follows gets every last line. An abort means the caller knows it exited.
    const s = containerState(ctx, id);
    const done = (s.Status !== 'running' && s.Status !== 'created') || opts.signal?.aborted;
    for (const e of readNew()) yield e;
    if (done || !existsSync(p.dir)) return;
    await waitForChange(p.dir, 100, opts.signal);
  }
}

function parseLogLine(line: string): LogEntry {
  try {
    const o = JSON.parse(line) as { log?: string; stream?: string; time?: string };
    return {
      line: o.log ?? '',
      stream: o.stream === 'stderr' ? 'stderr' : 'stdout',
      time: o.time ?? '',
    };
  } catch {
    return { line: `${line}\n`, stream: 'stdout', time: '' };
  }
}
