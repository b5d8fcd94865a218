import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, LAB_TOOLS, skipE2e, TestLab } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

// `swarm init --force-new-cluster` on real daemons: a lab of 3 managers loses two of them for
// good (power cut: daemon, nats-server, containers); the third becomes a one-manager swarm with
// the state it held. Every address is inside the lab.
const skip = skipE2e('force-new-cluster e2e', LAB_TOOLS);
const LAB = `f${randomBytes(2).toString('hex')}`;

describe.skipIf(skip)('swarm init --force-new-cluster (lab of 3 managers)', () => {
  let lab: TestLab;
  const on = (node: string, args: string[], timeoutMs?: number) => lab.on(node, args, timeoutMs);
  const hostname = (name: string) => `${LAB}-${name}`;
  const nodeTable = async (via: string) => {
    const r = await on(via, ['node', 'ls', '--format', 'json']);
    if (r.code !== 0) return new Map<string, { status: string; manager: string }>();
    return new Map(
      jsonLines<{ Hostname: string; Status: string; ManagerStatus: string }>(r.stdout).map((n) => [
        n.Hostname,
        { status: n.Status, manager: n.ManagerStatus },
      ]),
    );
  };
  const running = async (via: string, service: string) => {
    const r = await on(via, ['service', 'ps', service, '--format', 'json']);
    if (r.code !== 0) return [];
    return jsonLines<{ DesiredState: string; CurrentState: string }>(r.stdout).filter(
      (t) => t.DesiredState === 'Running' && t.CurrentState.startsWith('Running'),
    );
  };

  beforeAll(async () => {
    lab = await TestLab.create(LAB, { managers: 3, workers: 0 });
    expect(lab.nodes).toEqual(['manager1', 'manager2', 'manager3']);
  }, 180_000);

  afterAll(() => lab?.destroy(), 180_000);

  it('keeps services, nodes and tasks, demotes the lost managers, and accepts writes', async () => {
    await until(
      async () => {
        const managers = [...(await nodeTable('manager1')).values()].map((n) => n.manager).sort();
        return JSON.stringify(managers) === JSON.stringify(['Leader', 'Reachable', 'Reachable']);
      },
      { what: 'three reachable managers', timeoutMs: 30_000, intervalMs: 100 },
    );
    const created = await on(
      'manager1',
      [
        'service',
        'create',
        '--name',
        'web',
        '--replicas',
        '3',
        'busybox:latest',
        'sleep',
        '100000',
      ],
      60_000,
    );
    expect(created.code, created.stderr).toBe(0);

    for (const m of ['manager2', 'manager3']) {
      expect((await lab.lab(['kill', '--all', LAB, m])).code).toBe(0);
    }
    // Without a quorum, writes fail (the survivor cannot commit).
    await until(
      async () =>
        (await on('manager1', ['service', 'scale', '--detach', 'web=4'], 15_000)).code !== 0,
      { what: 'writes refused without quorum', timeoutMs: 30_000, intervalMs: 100 },
    );

    const forced = await on('manager1', ['swarm', 'init', '--force-new-cluster'], 60_000);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^Swarm initialized: current node \(\w+\) is now a manager\./);

    const table = await nodeTable('manager1');
    expect(table.size).toBe(3);
    expect(table.get(hostname('manager1'))?.manager).toBe('Leader');
    await until(
      async () => {
        const t = await nodeTable('manager1');
        return ['manager2', 'manager3'].every(
          (m) => t.get(hostname(m))?.manager === '' && t.get(hostname(m))?.status === 'Down',
        );
      },
      { what: 'the lost managers demoted and down', timeoutMs: 30_000, intervalMs: 100 },
    );

    const ls = await on('manager1', ['service', 'ls', '--format', 'json']);
    expect(jsonLines<{ Name: string }>(ls.stdout).map((s) => s.Name)).toEqual(['web']);
    const scaled = await on('manager1', ['service', 'scale', '--detach', 'web=4']);
    expect(scaled.code, scaled.stderr).toBe(0);
    await until(async () => (await running('manager1', 'web')).length === 4, {
      what: '4 tasks running on the survivor',
      timeoutMs: 60_000,
      intervalMs: 100,
    });

    const again = await on('manager1', ['swarm', 'init']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already part of a swarm/);
  });
});
