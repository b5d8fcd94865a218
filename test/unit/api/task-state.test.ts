import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TASK_STATES, checkTaskTransition, isTerminalTaskState } from '../../../src/api/index.js';

describe('task state machine', () => {
  it('moves forward and refuses backward moves', () => {
    expect(checkTaskTransition('pending', 'assigned')).toEqual({ ok: true, state: 'assigned' });
    expect(checkTaskTransition('running', 'failed')).toEqual({ ok: true, state: 'failed' });
    const back = checkTaskTransition('running', 'pending');
    expect(back.ok).toBe(false);
    if (!back.ok) expect(back.reason).toMatch(/backwards from running to pending/);
  });

  it('never leaves a terminal state for another one', () => {
    const r = checkTaskTransition('failed', 'orphaned');
    expect(r.ok).toBe(false);
    expect(isTerminalTaskState('complete')).toBe(true);
    expect(isTerminalTaskState('running')).toBe(false);
  });

  it('accepts exactly the forward pairs (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TASK_STATES), fc.constantFrom(...TASK_STATES), (a, b) => {
        const ia = TASK_STATES.indexOf(a);
        const ib = TASK_STATES.indexOf(b);
        const expected = a === b || (ib > ia && !isTerminalTaskState(a));
        expect(checkTaskTransition(a, b).ok).toBe(expected);
      }),
      { seed: 42 },
    );
  });
});

describe('task status reports', () => {
  it('apply forward and are refused backward, naming the task', async () => {
    const { advanceTaskStatus } = await import('../../../src/api/index.js');
    const { makeService, makeSpec, makeTask } = await import('../scheduler/fixtures.js');
    const t = makeTask('t1', makeService('s', makeSpec('web')), { state: 'running' });
    const ts = '2026-01-01T00:00:09.000Z';
    const done = advanceTaskStatus(t, { State: 'failed', Message: 'exit 1', Timestamp: ts });
    expect(done.ok && done.task.Status.State).toBe('failed');
    const late = advanceTaskStatus(t, { State: 'starting', Message: '', Timestamp: ts });
    expect(late).toEqual({
      ok: false,
      reason: 'task t1: task state cannot move backwards from running to starting',
    });
  });
});
