import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, LAB_TOOLS, skipE2e, TestLab } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

// Nothing deployed is lost when the whole cluster goes down at once: every daemon SIGKILLed
// together (containers keep running and are adopted), then every node power-cut (daemons,
// nats-servers and containers gone; raft and worker state on disk bring it all back).
// A lab of 3 managers and 1 worker; every address is inside the lab.
const skip = skipE2e('full-cluster restart e2e', LAB_TOOLS);
const LAB = `r${randomBytes(2).toString('hex')}`;
const NODES = ['manager1', 'manager2', 'manager3', 'worker1'];

interface TaskRow {
  ID: string;
  Name: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
}

describe.skipIf(skip)('a whole-cluster restart loses nothing (lab of 3 managers, 1 worker)', () => {
  let lab: TestLab;
  const on = (node: string, args: string[]) => lab.on(node, args);
  const ok = (node: string, args: string[], timeoutMs?: number) => lab.ok(node, args, timeoutMs);
  /** The running tasks of web as manager1 sees them, once it answers at all. */
  const runningWeb = async (): Promise<TaskRow[]> => {
    const r = await on('manager1', ['service', 'ps', 'web', '--no-trunc', '--format', 'json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return jsonLines<TaskRow>(r.stdout).filter(
      (t) => t.DesiredState === 'Running' && t.CurrentState.startsWith('Running'),
    );
  };
  /** What a user deployed: the service (same id), the network, secrets and configs. */
  const deployed = async () => {
    const names = async (args: string[]) =>
      (await ok('manager1', [...args, '--format', '{{.Name}}'])).trim().split('\n').sort();
    return {
      services: (
        await ok('manager1', ['service', 'inspect', '--format', '{{.ID}} {{.Spec.Name}}', 'web'])
      ).trim(),
      networks: (await names(['network', 'ls'])).filter((n) => n === 'backend'),
      secrets: await names(['secret', 'ls']),
      configs: await names(['config', 'ls']),
    };
  };
  const readyManagers = async (): Promise<string[]> => {
    const r = await on('manager1', ['node', 'ls', '--format', '{{.ManagerStatus}}']);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .filter((s) => s !== '')
      .sort();
  };

  beforeAll(async () => {
    lab = await TestLab.create(LAB, { managers: 3, workers: 1 });
    expect(lab.nodes).toEqual(NODES);
    await until(readyManagers, {
      what: 'three managers',
      accept: (m) => m.join() === 'Leader,Reachable,Reachable',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const secret = join(lab.dataRoot, 'secret.txt');
    writeFileSync(secret, 'pw');
    await ok('manager1', ['secret', 'create', 'pw', secret]);
    await ok('manager1', ['config', 'create', 'conf', secret]);
    await ok('manager1', ['network', 'create', '--driver', 'overlay', 'backend']);
    await ok(
      'manager1',
      [
        'service',
        'create',
        '--name',
        'web',
        '--replicas',
        '6',
        '--network',
        'backend',
        '--secret',
        'pw',
        '--config',
        'conf',
        '--stop-grace-period',
        '1s',
        'busybox',
        'sleep',
        '100000',
      ],
      120_000,
    );
  }, 300_000);

  afterAll(() => lab?.destroy(), 200_000);

  it('every daemon SIGKILLed at once: the same state and the same running tasks after start', async () => {
    const before = await deployed();
    const tasks = (await runningWeb()).map((t) => t.ID).sort();
    expect(tasks).toHaveLength(6);
    for (const n of NODES) expect((await lab.lab(['kill', LAB, n])).code).toBe(0);
    for (const n of NODES) expect((await lab.lab(['start', LAB, n], 120_000)).code).toBe(0);
    await until(readyManagers, {
      what: 'a leader and two reachable managers',
      accept: (m) => m.join() === 'Leader,Reachable,Reachable',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(await deployed()).toEqual(before);
    // Adopted, not restarted: the same six tasks run, and no seventh ever appears.
    const after = await until(runningWeb, {
      what: 'the same 6 tasks running',
      accept: (ts) => ts.length === 6,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(after.map((t) => t.ID).sort()).toEqual(tasks);
  }, 300_000);

  it('every node power-cut at once: state back from disk, the tasks run again, none twice', async () => {
    const before = await deployed();
    for (const n of NODES) expect((await lab.lab(['kill', '--all', LAB, n])).code).toBe(0);
    for (const n of NODES) expect((await lab.lab(['start', LAB, n], 120_000)).code).toBe(0);
    await until(readyManagers, {
      what: 'a leader and two reachable managers',
      accept: (m) => m.join() === 'Leader,Reachable,Reachable',
      timeoutMs: 90_000,
      intervalMs: 100,
    });
    expect(await deployed()).toEqual(before);
    const after = await until(runningWeb, {
      what: '6 tasks of web running',
      accept: (ts) => ts.length === 6,
      timeoutMs: 90_000,
      intervalMs: 100,
    });
    // One running task per slot: nothing was lost or doubled. (A task whose secret or config
    // could not be delivered would fail, not run.)
    expect(new Set(after.map((t) => t.Name.replace(/^ \\_ /, ''))).size).toBe(6);
  }, 300_000);
});
