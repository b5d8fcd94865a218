import { describe, expect, it } from 'vitest';
import type { Node, NodeRole } from '../../../src/api/index.js';
import { planMembership } from '../../../src/manager/membership.js';
import type { Configuration } from '../../../src/manager/raft/index.js';

function node(id: string, role: NodeRole, manager?: { leader?: boolean; reach?: string }): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Labels: {}, Role: role, Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1 << 30 },
      Engine: { Labels: {} },
    },
    Status: { State: 'ready', Addr: '10.0.0.1' },
    ...(manager
      ? {
          ManagerStatus: {
            Leader: manager.leader ?? false,
            Reachability: (manager.reach ?? 'reachable') as 'reachable',
            Addr: `${id}:2377`,
            RaftAddr: `${id}:4242`,
          },
        }
      : {}),
  } as Node;
}

const config = (...servers: [string, 'voter' | 'nonvoter'][]): Configuration => ({
  servers: servers.map(([id, suffrage]) => ({ id, address: `${id}:4242`, suffrage })),
});

const stats = (match: Record<string, number> = {}, ago: Record<string, number> = {}) => ({
  commitIndex: 10,
  matchIndex: match,
  lastContactAgoMs: ago,
});

describe('planMembership', () => {
  it('adds a new manager as a non-voter, and gives it a vote once it has caught up', () => {
    const nodes = [node('m1', 'manager', { leader: true }), node('m2', 'manager', {})];
    const first = planMembership({
      selfId: 'm1',
      nodes,
      configuration: config(['m1', 'voter']),
      stats: stats(),
      unreachableAfterMs: 1000,
    });
    expect(first.action).toEqual({ type: 'add-nonvoter', id: 'm2', address: 'm2:4242' });
    const lagging = planMembership({
      selfId: 'm1',
      nodes,
      configuration: config(['m1', 'voter'], ['m2', 'nonvoter']),
      stats: stats({ m2: 4 }),
      unreachableAfterMs: 1000,
    });
    expect(lagging.action).toBeUndefined();
    const caughtUp = planMembership({
      selfId: 'm1',
      nodes,
      configuration: config(['m1', 'voter'], ['m2', 'nonvoter']),
      stats: stats({ m2: 10 }),
      unreachableAfterMs: 1000,
    });
    expect(caughtUp.action).toEqual({ type: 'promote', id: 'm2', address: 'm2:4242' });
  });

  it('removes a demoted manager, and clears its manager status once it is out of raft', () => {
    const nodes = [node('m1', 'manager', { leader: true }), node('m2', 'worker', {})];
    const inRaft = planMembership({
      selfId: 'm1',
      nodes,
      configuration: config(['m1', 'voter'], ['m2', 'voter']),
      stats: stats({ m2: 10 }, { m2: 10 }),
      unreachableAfterMs: 1000,
    });
    expect(inRaft.action).toEqual({ type: 'remove', id: 'm2' });
    const out = planMembership({
      selfId: 'm1',
      nodes,
      configuration: config(['m1', 'voter']),
      stats: stats(),
      unreachableAfterMs: 1000,
    });
    expect(out.action).toBeUndefined();
    expect(out.statuses).toEqual([{ id: 'm2', status: undefined }]);
  });

  it('a demoted leader hands leadership over first, and the last voter never leaves', () => {
    const demotedLeader = [node('m1', 'worker', { leader: true }), node('m2', 'manager', {})];
    expect(
      planMembership({
        selfId: 'm1',
        nodes: demotedLeader,
        configuration: config(['m1', 'voter'], ['m2', 'voter']),
        stats: stats({ m2: 10 }),
        unreachableAfterMs: 1000,
      }).action,
    ).toEqual({ type: 'transfer-leadership' });
    expect(
      planMembership({
        selfId: 'm1',
        nodes: [node('m1', 'worker', { leader: true })],
        configuration: config(['m1', 'voter']),
        stats: stats(),
        unreachableAfterMs: 1000,
      }).action,
    ).toBeUndefined();
  });

  it('marks the leader and each follower reachable or not from its last contact', () => {
    const nodes = [
      node('m1', 'manager', { leader: false, reach: 'unknown' }),
      node('m2', 'manager', { leader: true }),
      node('m3', 'manager', {}),
    ];
    const plan = planMembership({
      selfId: 'm1',
      nodes,
      configuration: config(['m1', 'voter'], ['m2', 'voter'], ['m3', 'voter']),
      stats: stats({ m2: 10, m3: 10 }, { m2: 50, m3: 5000 }),
      unreachableAfterMs: 1000,
    });
    expect(plan.action).toBeUndefined();
    expect(
      Object.fromEntries(
        plan.statuses.map((s) => [s.id, `${s.status?.Leader} ${s.status?.Reachability}`]),
      ),
    ).toEqual({ m1: 'true reachable', m2: 'false reachable', m3: 'false unreachable' });
  });
});
