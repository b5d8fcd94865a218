import type { ServiceLogLine } from '../../api/dispatch.js';
import { invalidArgument } from '../../api/errors.js';
import { parseDurationNs } from '../../api/index.js';
import type { ApiClient } from '../client.js';

export interface ServiceLogsFlags {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
  raw?: boolean;
  /** false with --no-task-ids */
  taskIds: boolean;
  /** false with --no-trunc */
  trunc: boolean;
}

/** `--since` as docker takes it: RFC 3339 or a date, unix seconds, or a Go duration back from now. */
export function parseSince(text: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ns = parseDurationNs(text);
  if (ns !== undefined) return now - Math.round(ns / 1e6);
  const t = Date.parse(text);
  if (!Number.isNaN(t)) return t;
  throw invalidArgument(
    `invalid value "${text}" for --since: use a time (2026-11-30T06:00:00Z), unix seconds or a duration (10m)`,
  );
}

/** docker's prefix: `web.1.<12 chars of the task id>@node    | `, or what the flags leave of it. */
export function logPrefix(l: ServiceLogLine & { task: string }, f: ServiceLogsFlags): string {
  if (f.raw) return '';
  const id = f.trunc ? l.taskId.slice(0, 12) : l.taskId;
  const cut = l.task.lastIndexOf(`.${l.taskId}`);
  // A task the managers no longer know is named by its id alone.
  if (cut <= 0) return `${f.taskIds ? id : l.task.slice(0, 12)}@${l.node}    | `;
  return `${l.task.slice(0, cut)}${f.taskIds ? `.${id}` : ''}@${l.node}    | `;
}

/**
 * Prints a service's log lines as docker does: each with its task's prefix, stderr lines on
 * stderr, the timestamp after the prefix with -t.
 */
export async function streamServiceLogs(
  api: ApiClient,
  ref: string,
  f: ServiceLogsFlags,
): Promise<void> {
  const q = new URLSearchParams();
  if (f.follow) q.set('follow', 'true');
  if (f.tail !== undefined && f.tail !== 'all') {
    if (!/^\d+$/.test(f.tail)) throw invalidArgument(`invalid value "${f.tail}" for --tail`);
    q.set('tail', f.tail);
  }
  if (f.since !== undefined) q.set('since', String(Math.max(0, parseSince(f.since))));
  const lines = api.ndjson<ServiceLogLine & { task: string }>(
    `/services/${encodeURIComponent(ref)}/logs?${q}`,
  );
  for await (const l of lines) {
    const line = l.line.endsWith('\n') ? l.line : `${l.line}\n`;
    const out = `${logPrefix(l, f)}${f.timestamps ? `${l.time} ` : ''}${line}`;
    (l.stream === 'stderr' ? process.stderr : process.stdout).write(out);
  }
}
