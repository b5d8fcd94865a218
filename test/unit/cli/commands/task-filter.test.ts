import { describe, expect, it } from 'vitest';
import type { Task } from '../../../../src/api/index.js';
import { parseTaskFilters } from '../../../../src/cli/commands/task-filter.js';

const task = (over: Partial<Task>): Task =>
  ({
    ID: 'abcdef0123456789abcdef012',
    Slot: 1,
    NodeID: 'node1',
    DesiredState: 'running',
    Labels: { tier: 'front' },
    ...over,
  }) as Task;
const names = { serviceName: 'app_web', nodeName: 'host-a' };

describe("docker's task filters", () => {
  it('one key given twice matches either value; different keys must all match', () => {
    const keep = parseTaskFilters(
      ['name=app_web.1', 'name=app_web.2', 'desired-state=running'],
      ['id', 'name', 'node', 'desired-state'],
    );
    expect(keep(task({ Slot: 1 }), names)).toBe(true);
    expect(keep(task({ Slot: 2 }), names)).toBe(true);
    expect(keep(task({ Slot: 3 }), names)).toBe(false);
    expect(keep(task({ Slot: 2, DesiredState: 'shutdown' }), names)).toBe(false);
    expect(keep(task({ Slot: 2, DesiredState: 'ready' }), names)).toBe(true);
  });

  it('id is a prefix, node an id or a hostname, label a key or key=value', () => {
    const all = ['id', 'name', 'node', 'desired-state', 'label'] as const;
    expect(parseTaskFilters(['id=abcd'], all)(task({}), names)).toBe(true);
    expect(parseTaskFilters(['id=bcd'], all)(task({}), names)).toBe(false);
    expect(parseTaskFilters(['node=host-a'], all)(task({}), names)).toBe(true);
    expect(parseTaskFilters(['node=node1'], all)(task({}), names)).toBe(true);
    expect(parseTaskFilters(['label=tier'], all)(task({}), names)).toBe(true);
    expect(parseTaskFilters(['label=tier=back'], all)(task({}), names)).toBe(false);
  });

  it('refuses keys the command does not take, bad states and malformed filters', () => {
    expect(() => parseTaskFilters(['label=x'], ['id', 'name'])).toThrow(
      "invalid filter 'label': this command filters by id, name",
    );
    expect(() => parseTaskFilters(['desired-state=dancing'], ['desired-state'])).toThrow(
      /expected running, shutdown, accepted/,
    );
    expect(() => parseTaskFilters(['name'], ['name'])).toThrow(/expected key=value/);
  });
});
