import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/display/go-template.js';
import { formatObjects, formatRows, type Column } from '../../../src/display/list-format.js';

interface Row {
  ID: string;
  Name: string;
  Labels: Record<string, string>;
}
const rows: Row[] = [
  { ID: 'a1', Name: 'web', Labels: { tier: 'front', team: 'core' } },
  { ID: 'b2', Name: 'database', Labels: {} },
];
const columns: Column<Row>[] = [
  { header: 'ID', field: 'ID', cell: (r) => `${r.ID} *` },
  { header: 'NAME', field: 'Name' },
];

describe('formatRows (--format of the listing verbs, as docker)', () => {
  it('prints the default table with or without "table", and json one object per line', () => {
    const table = 'ID     NAME\na1 *   web\nb2 *   database\n';
    expect(formatRows(rows, undefined, columns)).toBe(table);
    expect(formatRows(rows, 'table', columns)).toBe(table);
    expect(formatRows(rows, 'json', columns).split('\n')[0]).toBe(JSON.stringify(rows[0]));
  });

  it('renders a template per row; \\t and \\n are a tab and a newline', () => {
    expect(formatRows(rows, '{{.Name}}\\t{{.ID}}', columns)).toBe('web\ta1\ndatabase\tb2\n');
    expect(formatRows(rows, '{{index .Labels "tier"}}', columns)).toBe('front\n<no value>\n');
    expect(formatRows(rows, '{{.Labels | json}}', columns).split('\n')[1]).toBe('{}');
  });

  it('"table TEMPLATE" prints the columns under their headers, aligned', () => {
    expect(formatRows(rows, 'table {{.Name}}\\t{{.ID}}\\t{{json .Labels}}', columns)).toBe(
      [
        'NAME       ID   LABELS',
        'web        a1   {"tier":"front","team":"core"}',
        'database   b2   {}',
        '',
      ].join('\n'),
    );
  });

  it('refuses what it cannot render, naming the format', () => {
    expect(() => formatRows(rows, 'yaml', columns)).toThrow(
      /--format "yaml": expected table, json, or a Go template/,
    );
    expect(() => formatRows(rows, '{{.Nope}}', columns)).toThrow(/--format: .*no field "Nope"/);
    expect(() => formatRows(rows, '{{range .Labels}}x{{end}}', columns)).toThrow(
      /unsupported template action "\{\{range \.Labels\}\}"/,
    );
  });
});

describe('formatObjects (inspect -f)', () => {
  it('a JSON array by default, else the template once per object', () => {
    expect(JSON.parse(formatObjects(rows, undefined))).toEqual(rows);
    expect(formatObjects(rows, '{{.ID}} {{len .Labels}}')).toBe('a1 2\nb2 0\n');
  });
});

describe('renderTemplate', () => {
  const doc = { Spec: { Name: 'web', Args: ['httpd', '-f'], Labels: { b: '2', a: '1' } } };
  it("prints Go's way: slices [a b], maps map[k:v] sorted by key", () => {
    expect(renderTemplate('{{.Spec.Args}} {{.Spec.Labels}}', doc)).toBe('[httpd -f] map[a:1 b:2]');
  });
  it("reads a value's own fields only", () => {
    expect(() => renderTemplate('{{.constructor}}', doc)).toThrow(/no field "constructor"/);
    expect(renderTemplate('{{index .Spec "toString"}}', doc)).toBe('<no value>');
  });
  it('join, upper, lower and pipes', () => {
    expect(renderTemplate('{{join .Spec.Args ","}}', doc)).toBe('httpd,-f');
    expect(renderTemplate('{{.Spec.Name | upper}} {{lower "X"}}', doc)).toBe('WEB x');
  });
});
