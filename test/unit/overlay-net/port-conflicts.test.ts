import { describe, expect, it } from 'vitest';
import type { PortClaim } from '../../../src/overlay-net/index.js';
import { findPortConflicts } from '../../../src/overlay-net/index.js';

const claim = (
  serviceId: string,
  mode: PortClaim['mode'],
  extra: Partial<PortClaim> = {},
): PortClaim => ({
  serviceId,
  protocol: 'tcp',
  publishedPort: 80,
  mode,
  ...extra,
});

describe('findPortConflicts', () => {
  it('an ingress port is taken on every node', () => {
    const c = findPortConflicts([
      claim('a', 'ingress'),
      claim('b', 'host', { nodeId: 'n1', taskId: 't1' }),
    ]);
    expect(c.map((x) => x.reason)).toEqual(['ingress-taken']);
    expect(findPortConflicts([claim('a', 'ingress'), claim('b', 'ingress')])).toHaveLength(1);
  });

  it('protocols do not clash with each other', () => {
    expect(
      findPortConflicts([claim('a', 'ingress'), claim('b', 'ingress', { protocol: 'udp' })]),
    ).toEqual([]);
  });

  it('host ports clash only on the same node', () => {
    expect(
      findPortConflicts([
        claim('a', 'host', { nodeId: 'n1', taskId: 't1' }),
        claim('b', 'host', { nodeId: 'n2', taskId: 't2' }),
        claim('a', 'host'),
        claim('b', 'host'),
      ]),
    ).toEqual([]);
    const c = findPortConflicts([
      claim('a', 'host', { nodeId: 'n1', taskId: 't1' }),
      claim('a', 'host', { nodeId: 'n1', taskId: 't2' }),
    ]);
    expect(c.map((x) => x.reason)).toEqual(['host-taken-on-node']);
  });

  it('a service may not publish the same port twice', () => {
    expect(
      findPortConflicts([claim('a', 'ingress'), claim('a', 'ingress')]).map((x) => x.reason),
    ).toEqual(['duplicate-in-service']);
    expect(
      findPortConflicts([claim('a', 'host'), claim('a', 'host')]).map((x) => x.reason),
    ).toEqual(['duplicate-in-service']);
  });

  it('the same task reported twice is no conflict', () => {
    const t = claim('a', 'host', { nodeId: 'n1', taskId: 't1' });
    expect(findPortConflicts([t, { ...t }])).toEqual([]);
  });
});
