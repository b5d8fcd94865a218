import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Service, Task } from '../../../src/api/index.js';
import { ApiClient } from '../../../src/cli/client.js';
import { LAB_TOOLS, skipE2e, tsswarm, tsswarmOk } from '../../helpers/e2e.js';
import { busyboxImage } from '../../helpers/images.js';
import { until } from '../../helpers/until.js';

const skip = skipE2e('leader-kill update e2e', LAB_TOOLS);

interface LabRow {
  name: string;
  role: string;
  socket: string;
}

describe.skipIf(skip)('a rolling update survives the leader (root, 3-manager lab)', () => {
  const L = `u${process.pid % 10000}`;
  let dataRoot = '';
  let rows: LabRow[] = [];
  const cli = (...args: string[]) =>
    tsswarm(['--data-root', dataRoot, ...args], { timeoutMs: 240_000 });
  const ok = (...args: string[]) =>
    tsswarmOk(['--data-root', dataRoot, ...args], { timeoutMs: 240_000 });
  const api = (node: string): ApiClient => {
    const row = rows.find((r) => r.name === node);
    if (!row) throw new Error(`no node ${node}`);
    return new ApiClient({ socketPath: row.socket });
  };

  beforeAll(async () => {
    dataRoot = await mkdtemp('/tmp/tsswarm-updl-');
    await busyboxImage(dataRoot);
    await ok('image', 'tag', 'busybox', 'web:v2');
    await ok(
      'lab',
      'create',
      L,
      '--managers',
      '3',
      '--workers',
      '0',
      '--image',
      'busybox',
      '--image',
      'web:v2',
    );
    rows = (
      JSON.parse(await ok('lab', 'ls', '--format', 'json')) as (LabRow & { lab: string })[]
    ).filter((r) => r.lab === L);
  }, 240_000);

  afterAll(async () => {
    if (dataRoot === '') return;
    try {
      await cli('lab', 'rm', L);
    } finally {
      await rm(dataRoot, { recursive: true, force: true });
    }
  }, 240_000);

  it('SIGKILL the leader mid-update: the new leader finishes it from the raft state', async () => {
    expect(rows.map((r) => r.name).sort()).toEqual(['manager1', 'manager2', 'manager3']);
    const leaderOf = async (via: string): Promise<string> => {
      const nodes = await api(via).get<Node[]>('/nodes');
      // Lab nodes are named `<lab>-<node>`.
      const host = nodes.find((n) => n.ManagerStatus?.Leader)?.Description.Hostname ?? '';
      return host.startsWith(`${L}-`) ? host.slice(L.length + 1) : host;
    };
    const leader = await until(() => leaderOf('manager1'), {
      what: 'a leader',
      accept: (l) => l !== '',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const survivor = ['manager1', 'manager2', 'manager3'].find((n) => n !== leader) ?? '';
    const env = (node: string) => ['-H', `unix://${rows.find((r) => r.name === node)?.socket}`];

    await ok(
      ...env(survivor),
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '6',
      '--stop-grace-period',
      '1s',
      'busybox',
      'sleep',
      '1000',
    );
    await ok(
      ...env(survivor),
      'service',
      'update',
      '-d',
      '--image',
      'web:v2',
      '--update-parallelism',
      '1',
      '--update-delay',
      '2s',
      '--update-monitor',
      '1s',
      'web',
    );
    const web = () => api(survivor).get<Service>('/services/web');
    const tasks = () => api(survivor).get<Task[]>('/tasks?service=web');
    const onV2 = (ts: Task[]) =>
      ts.filter(
        (t) =>
          t.DesiredState === 'running' &&
          t.Status.State === 'running' &&
          t.Spec.ContainerSpec.Image === 'web:v2',
      ).length;
    await until(tasks, {
      what: 'the first slot updated',
      accept: (ts) => onV2(ts) >= 1,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const mid = await web();
    expect(mid.UpdateStatus?.State).toBe('updating');
    expect(onV2(await tasks())).toBeLessThan(6);

    await ok('lab', 'kill', L, leader);
    const next = await until(() => leaderOf(survivor), {
      what: 'a new leader',
      accept: (l) => l !== '' && l !== leader,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(next).not.toBe(leader);
    const done = await until(web, {
      what: 'the update completed by the new leader',
      accept: (s) => s.UpdateStatus?.State === 'completed',
      timeoutMs: 180_000,
      intervalMs: 100,
    });
    expect(done.UpdateStatus?.StartedAt).toBe(mid.UpdateStatus?.StartedAt);
    await until(tasks, {
      what: '6 tasks on web:v2',
      accept: (ts) => onV2(ts) === 6,
      timeoutMs: 120_000,
      intervalMs: 100,
    });
  }, 420_000);
});
