import { describe, expect, it } from 'vitest';
import { logPrefix, parseSince } from '../../../../src/cli/commands/service-logs.js';

describe('service logs flags', () => {
  const line = {
    taskId: 'abcdefghijklmnopqrstuvwxy',
    task: 'web.1.abcdefghijklmnopqrstuvwxy',
    node: 'node1',
    stream: 'stdout' as const,
    time: '2026-11-30T06:00:00.000000001Z',
    line: 'hi\n',
  };
  const flags = { taskIds: true, trunc: true };

  it('prefixes as docker: 12 characters of the task id, or all, or none, or no prefix', () => {
    expect(logPrefix(line, flags)).toBe('web.1.abcdefghijkl@node1    | ');
    expect(logPrefix(line, { ...flags, trunc: false })).toBe(`${line.task}@node1    | `);
    expect(logPrefix(line, { ...flags, taskIds: false })).toBe('web.1@node1    | ');
    expect(logPrefix(line, { ...flags, raw: true })).toBe('');
  });

  it('--since takes a time, unix seconds or a duration back from now, and refuses the rest', () => {
    const now = Date.parse('2026-11-30T06:00:00Z');
    expect(parseSince('2026-11-30T05:00:00Z', now)).toBe(now - 3_600_000);
    expect(parseSince('1764482400', now)).toBe(1_764_482_400_000);
    expect(parseSince('1m30s', now)).toBe(now - 90_000);
    expect(() => parseSince('soon', now)).toThrow(/invalid value "soon" for --since/);
  });
});
