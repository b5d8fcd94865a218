import { describe, expect, it } from 'vitest';
import { tasksToReap } from '../../../../src/manager/orchestrator/index.js';
import { makeService, makeSpec, makeTask } from '../../scheduler/fixtures.js';

const svc = makeService('s', makeSpec('web'));
const at = (sec: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, sec)).toISOString();

describe('task reaper', () => {
  it('keeps at most the history limit per slot, oldest finished tasks first', () => {
    const tasks = [0, 1, 2, 3, 4, 5, 6].map((i) => ({
      ...makeTask(`t${i}`, svc, { slot: 1, state: 'failed', desired: 'shutdown' }),
      CreatedAt: at(i),
    }));
    tasks.push({ ...makeTask('live', svc, { slot: 1, state: 'running' }), CreatedAt: at(9) });
    tasks.push({
      ...makeTask('other', svc, { slot: 2, state: 'failed', desired: 'shutdown' }),
      CreatedAt: at(0),
    });
    const out = tasksToReap({ tasks, serviceIds: new Set(['s']), historyLimit: 5 });
    expect(out.map((a) => a.type === 'delete-task' && a.taskId)).toEqual(['t0', 't1', 't2']);
    expect(tasksToReap({ tasks, serviceIds: new Set(['s']), historyLimit: -1 })).toEqual([]);
  });

  it('deletes removed tasks once stopped, and tasks of deleted services', () => {
    const tasks = [
      makeTask('gone', svc, { slot: 3, state: 'shutdown', desired: 'remove' }),
      makeTask('stopping', svc, { slot: 4, state: 'running', desired: 'remove' }),
      makeTask('never-ran', svc, { slot: 5, state: 'pending', desired: 'remove' }),
    ];
    const orphan = makeTask('orphan', makeService('x', makeSpec('old')), {
      state: 'complete',
      desired: 'shutdown',
    });
    const out = tasksToReap({
      tasks: [...tasks, orphan],
      serviceIds: new Set(['s']),
      historyLimit: 5,
    });
    expect(out.map((a) => a.type === 'delete-task' && a.taskId)).toEqual([
      'gone',
      'never-ran',
      'orphan',
    ]);
  });
});
