import { describe, expect, it } from 'vitest';
import type { Service, Task } from '../../../../src/api/index.js';
import { taskBars } from '../../../../src/cli/commands/service.js';

const service = (global = false) =>
  ({
    Spec: { Mode: global ? { Global: {} } : { Replicated: { Replicas: 3 } } },
  }) as unknown as Service;
const task = (slot: number, state: string, nodeId = 'n1abcdefghijklmnop', desired = 'running') =>
  ({ Slot: slot, NodeID: nodeId, DesiredState: desired, Status: { State: state } }) as Task;

describe('taskBars (docker per-task progress lines)', () => {
  it('one line per slot, the bar as far as the state is along, full when running', () => {
    const rows = taskBars(
      service(),
      [
        task(2, 'starting'),
        task(1, 'running'),
        task(3, 'pending'),
        task(1, 'failed', 'x', 'shutdown'),
      ],
      3,
    );
    expect(rows).toEqual([
      `1/3: running   [${'='.repeat(49)}>]`,
      `2/3: starting  [${`${'='.repeat(44)}>`.padEnd(50)}]`,
      `3/3: pending   [${`${'='.repeat(17)}>`.padEnd(50)}]`,
    ]);
  });

  it('global services key by node; more than 20 tasks show only the overall line', () => {
    expect(taskBars(service(true), [task(0, 'running')], 1)[0]).toMatch(/^n1abcdefghij: running /);
    expect(taskBars(service(), [task(1, 'running')], 21)).toEqual([]);
  });
});
