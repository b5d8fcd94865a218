import { hexOf } from './digest.js';
import type { HistoryEntry, ImageSummary } from './types.js';
import { humanDuration, humanSizeWithPrecision } from '../../display/human-units.js';
import { formatRows } from '../../display/list-format.js';
import { formatTable } from '../../display/text-table.js';

export { humanDuration };

/** `docker images` prints sizes with three significant digits ("2.14MB"), not go-units' four. */
export function humanSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 3);
}

function since(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'N/A';
  return `${humanDuration(Math.max(0, now - t))} ago`;
}

/** docker's "2006-01-02 15:04:05 -0700 MST" rendering of a time, in UTC. */
function dockerTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

export interface ListFormat {
  quiet: boolean;
  format: string;
  truncate: boolean;
  now: number;
}

export function formatImageList(rows: ImageSummary[], f: ListFormat): string {
  const id = (full: string) => (f.truncate ? hexOf(full).slice(0, 12) : full);
  if (f.quiet) return rows.map((r) => `${id(r.id)}\n`).join('');
  // docker's field names, as `docker image ls --format json` prints them.
  const doc = (r: ImageSummary) => ({
    Containers: 'N/A',
    CreatedAt: dockerTime(r.created),
    CreatedSince: since(r.created, f.now),
    Digest: '<none>',
    ID: id(r.id),
    Repository: r.repository,
    SharedSize: 'N/A',
    Size: humanSize(r.size),
    Tag: r.tag,
    UniqueSize: 'N/A',
    VirtualSize: humanSize(r.size),
  });
  return formatRows(rows.map(doc), f.format, [
    { header: 'REPOSITORY', field: 'Repository' },
    { header: 'TAG', field: 'Tag' },
    { header: 'IMAGE ID', field: 'ID' },
    { header: 'CREATED', field: 'CreatedSince' },
    { header: 'SIZE', field: 'Size' },
  ]);
}

export interface HistoryFormat {
  quiet: boolean;
  format: string;
  truncate: boolean;
  now: number;
}

export function formatHistory(entries: HistoryEntry[], f: HistoryFormat): string {
  const id = (full: string) =>
    full.startsWith('sha256:') && f.truncate ? hexOf(full).slice(0, 12) : full;
  if (f.quiet) return entries.map((e) => `${id(e.id)}\n`).join('');
  const createdBy = (s: string) => (f.truncate && s.length > 45 ? `${s.slice(0, 44)}…` : s);
  if (f.format === 'json') {
    return entries
      .map(
        (e) =>
          `${JSON.stringify({
            Comment: e.comment,
            CreatedAt: e.created,
            CreatedBy: createdBy(e.createdBy),
            CreatedSince: since(e.created, f.now),
            ID: id(e.id),
            Size: humanSize(e.size),
          })}\n`,
      )
      .join('');
  }
  return formatTable(
    ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    entries.map((e) => [
      id(e.id),
      since(e.created, f.now),
      createdBy(e.createdBy),
      humanSize(e.size),
      e.comment,
    ]),
  );
}

export { renderTemplate, TemplateError } from '../../display/go-template.js';
