import { hexOf } from './digest.js';
import type { HistoryEntry, ImageSummary } from './types.js';
import { humanDuration, humanSizeWithPrecision } from '../../api/human-units.js';
import { formatTable } from '../../api/text-table.js';

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
  if (f.format === 'json') return rows.map((r) => `${JSON.stringify(doc(r))}\n`).join('');
  if (f.format.includes('{{')) {
    return rows.map((r) => `${renderTemplate(f.format, doc(r))}\n`).join('');
  }
  if (f.format !== 'table') {
    throw new TemplateError(`unknown format "${f.format}" (table, json or a {{.Field}} template)`);
  }
  return formatTable(
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    rows.map((r) => [r.repository, r.tag, id(r.id), since(r.created, f.now), humanSize(r.size)]),
  );
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

/**
 * The subset of Go templates that `docker … --format` is mostly used with: `{{.Field.Sub}}`,
 * `{{json .Field}}` and `{{json .}}`, among literal text. Anything else is refused by name.
 */
export function renderTemplate(template: string, value: unknown): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const json = /^json\s+(.+)$/.exec(expr);
    const path = (json ? json[1] : expr)?.trim() ?? '';
    if (!/^\.(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?$/.test(path)) {
      throw new TemplateError(
        `unsupported template action "{{${expr}}}" (use {{.Field}} or {{json .Field}})`,
      );
    }
    let v: unknown = value;
    for (const key of path.split('.').filter((k) => k !== '')) {
      v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
      if (v === undefined) throw new TemplateError(`template: no field "${key}" in "${path}"`);
    }
    if (json) return JSON.stringify(v);
    if (typeof v === 'object' && v !== null) {
      // Go prints maps as map[k:v] and slices as [a b]: close enough to read, as docker does.
      return Array.isArray(v)
        ? `[${v.map(String).join(' ')}]`
        : `map[${Object.entries(v)
            .map(([k, x]) => `${k}:${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
            .join(' ')}]`;
    }
    return String(v);
  });
}

/** A --format template that cannot be rendered; the CLI turns it into InvalidArgument. */
export class TemplateError extends Error {}
