import { invalidArgument } from '../api/errors.js';
import type { FieldTree } from './field-tree.js';
import { renderTemplate, TemplateError } from './go-template.js';
import { formatTable } from './text-table.js';

/** One column of a listing's default table: its header and the row field it shows. */
export interface Column<T> {
  header: string;
  field: keyof T & string;
  /** What the default table prints, when not the field as it is (e.g. "ID *" for self). */
  cell?: (row: T) => string;
}

/**
 * A listing as docker prints it with `--format`: the default table (no format or `table`),
 * `json` (one object per line with docker's field names), a Go template per row, or
 * `table TEMPLATE` (the template's columns under headers, aligned). `\t` and `\n` in the
 * format are a tab and a newline, as in docker.
 */
export function formatRows<T extends object>(
  rows: readonly T[],
  format: string | undefined,
  columns: readonly Column<T>[],
): string {
  const f = format?.trim() ?? '';
  if (f === '' || f === 'table') {
    return formatTable(
      columns.map((c) => c.header),
      rows.map((r) => columns.map((c) => (c.cell ? c.cell(r) : text(r[c.field])))),
    );
  }
  if (f === 'json') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  const table = f.startsWith('table ');
  const template = unescape(table ? f.slice('table '.length) : f);
  if (!template.includes('{{')) {
    throw invalidArgument(
      `--format "${format}": expected table, json, or a Go template such as '{{.ID}}'`,
    );
  }
  const lines = rows.map((r) => render(template, r));
  if (!table) return lines.map((l) => `${l}\n`).join('');
  const headers = new Map<string, string>(columns.map((c) => [c.field, c.header]));
  const header = template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/gs, (_m, action: string) => {
    const field = /\.([A-Za-z_]\w*)/.exec(action)?.[1] ?? action;
    return headers.get(field) ?? field.toUpperCase();
  });
  return formatTable(
    header.split('\t'),
    lines.map((l) => l.split('\t')),
  );
}

/**
 * `inspect -f`: the objects as a JSON array (no format or `json`), or the template once per
 * object, a line each. With the fields of the objects' docker type (`dockerFields.Service`), a
 * field the type has but an object leaves unset prints as Go's zero value instead of failing.
 */
export function formatObjects(
  objects: readonly unknown[],
  format: string | undefined,
  fields?: FieldTree,
): string {
  const f = format?.trim() ?? '';
  if (f === '' || f === 'json') return `${JSON.stringify(objects, null, 4)}\n`;
  const template = unescape(f);
  if (!template.includes('{{')) {
    throw invalidArgument(`--format "${format}": expected json or a Go template such as '{{.ID}}'`);
  }
  return objects.map((o) => `${render(template, o, fields)}\n`).join('');
}

function render(template: string, value: unknown, fields?: FieldTree): string {
  try {
    return renderTemplate(template, value, fields);
  } catch (err) {
    if (err instanceof TemplateError) throw invalidArgument(`--format: ${err.message}`);
    throw err;
  }
}

const unescape = (s: string): string => s.replaceAll('\\t', '\t').replaceAll('\\n', '\n');

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
