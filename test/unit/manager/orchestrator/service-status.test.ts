import { describe, expect, it } from 'vitest';
import { serviceStatus } from '../../../../src/manager/orchestrator/index.js';
import { makeNode, makeService, makeSpec, makeTask } from '../../scheduler/fixtures.js';

describe('service status', () => {
  it('counts running over desired as service ls shows it', () => {
    const nodes = new Map([
      ['a', makeNode('a')],
      ['b', makeNode('b', { state: 'down' })],
      ['c', makeNode('c', { availability: 'drain' })],
    ]);
    const rep = makeService('r', makeSpec('web', { Mode: { Replicated: { Replicas: 3 } } }));
    const tasks = [
      makeTask('t1', rep, { nodeId: 'a' }),
      makeTask('t2', rep, { nodeId: 'b' }),
      makeTask('t3', rep, { nodeId: 'a', desired: 'shutdown' }),
      makeTask('t4', rep, { nodeId: 'a', state: 'pending' }),
    ];
    expect(serviceStatus(rep, tasks, nodes)).toEqual({
      RunningTasks: 1,
      DesiredTasks: 3,
      CompletedTasks: 0,
    });
    const glob = makeService('g', makeSpec('agent', { Mode: { Global: {} } }));
    expect(serviceStatus(glob, [makeTask('g1', glob, { nodeId: 'a', slot: 0 })], nodes)).toEqual({
      RunningTasks: 1,
      DesiredTasks: 1,
      CompletedTasks: 0,
    });
  });
});
