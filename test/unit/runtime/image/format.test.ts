import { describe, expect, it } from 'vitest';
import {
  formatImageList,
  humanDuration,
  humanSize,
  renderTemplate,
} from '../../../../src/runtime/image/index.js';

describe('docker-style formatting', () => {
  it('sizes in decimal units with three digits', () => {
    expect(humanSize(0)).toBe('0B');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(2_140_160)).toBe('2.14MB');
    expect(humanSize(77_800_000)).toBe('77.8MB');
    expect(humanSize(1_000_000_000)).toBe('1GB');
  });

  it('durations as docker prints them', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(30_000)).toBe('30 seconds');
    expect(humanDuration(60_000)).toBe('About a minute');
    expect(humanDuration(3_600_000)).toBe('About an hour');
    expect(humanDuration(5 * 3_600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
  });

  it('lists images as a table, ids, or JSON lines', () => {
    const rows = [
      {
        id: `sha256:${'ab'.repeat(32)}`,
        repository: 'busybox',
        tag: 'latest',
        created: '2026-01-01T00:00:00.000Z',
        size: 2_140_160,
      },
    ];
    const now = Date.parse('2026-01-01T02:00:00Z');
    expect(formatImageList(rows, { quiet: false, format: 'table', truncate: true, now })).toBe(
      'REPOSITORY   TAG      IMAGE ID       CREATED       SIZE\n' +
        'busybox      latest   abababababab   2 hours ago   2.14MB\n',
    );
    expect(formatImageList(rows, { quiet: true, format: 'table', truncate: true, now })).toBe(
      'abababababab\n',
    );
    const json = JSON.parse(
      formatImageList(rows, { quiet: false, format: 'json', truncate: true, now }),
    ) as Record<string, string>;
    expect(json).toMatchObject({
      Repository: 'busybox',
      Tag: 'latest',
      ID: 'abababababab',
      Size: '2.14MB',
      CreatedAt: '2026-01-01 00:00:00 +0000 UTC',
      CreatedSince: '2 hours ago',
    });
  });
});

describe('--format templates', () => {
  const doc = { Id: 'sha256:ab', Config: { Cmd: ['sh', '-c'], Env: [] }, Size: 3 };
  it('renders fields, nested fields and json', () => {
    expect(renderTemplate('{{.Id}}', doc)).toBe('sha256:ab');
    expect(renderTemplate('id={{ .Id }} size={{.Size}}', doc)).toBe('id=sha256:ab size=3');
    expect(renderTemplate('{{json .Config.Cmd}}', doc)).toBe('["sh","-c"]');
    expect(renderTemplate('{{.Config.Cmd}}', doc)).toBe('[sh -c]');
    expect(renderTemplate('{{json .}}', { a: 1 })).toBe('{"a":1}');
  });
  it('refuses what it cannot render, naming it', () => {
    expect(() => renderTemplate('{{.Nope}}', doc)).toThrow(/no field "Nope"/);
    expect(() => renderTemplate('{{range .Config.Cmd}}x{{end}}', doc)).toThrow(
      /unsupported template action "\{\{range .Config.Cmd\}\}"/,
    );
  });
});

describe('image ls --format template', () => {
  it('renders each row with docker field names', () => {
    const rows = [
      { id: `sha256:${'cd'.repeat(32)}`, repository: 'a', tag: '1', created: '', size: 1 },
    ];
    const f = { quiet: false, truncate: true, now: 0 };
    expect(formatImageList(rows, { ...f, format: '{{.Repository}}:{{.Tag}} {{.ID}}' })).toBe(
      'a:1 cdcdcdcdcdcd\n',
    );
    expect(() => formatImageList(rows, { ...f, format: 'yaml' })).toThrow(
      /--format "yaml": expected table, json, or a Go template/,
    );
  });
});
