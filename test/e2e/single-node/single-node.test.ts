import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service, Task } from '../../../src/api/index.js';
import { cliPath, OneNodeSwarm, repo, skipE2e } from '../../helpers/e2e.js';
import { alive } from '../../helpers/process.js';
import { until } from '../../helpers/until.js';

const skip = skipE2e('single-node e2e');

describe.skipIf(skip)('single-node swarm (root, nats-server, built CLI)', () => {
  let s: OneNodeSwarm;
  const cli = (...args: string[]) => s.cli(args);
  const ok = (...args: string[]) => s.ok(...args);
  const running = (service: string) => s.running(service);
  const rememberPids = () => s.rememberPids();

  beforeAll(async () => {
    s = await OneNodeSwarm.create('tsswarm-e2e-');
  }, 60_000);

  afterAll(() => s?.destroy(), 60_000);

  it('runs 3 replicas, scales to 5 and to 0', async () => {
    const out = await ok(
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '3',
      '--stop-grace-period',
      '1s',
      '--restart-delay',
      '100ms',
      'busybox',
      'httpd',
      '-f',
    );
    expect(out).toContain('overall progress: 3 out of 3 tasks');
    for (const slot of [1, 2, 3])
      expect(out).toMatch(new RegExp(`^${slot}/3: running +\\[=+>\\]$`, 'm'));
    expect(out).toContain('verify: Service converged');
    expect(await running('web')).toHaveLength(3);
    const ls = await ok('service', 'ls');
    expect(ls).toMatch(/web\s+replicated\s+3\/3\s+busybox/);
    const json = JSON.parse((await ok('service', 'ls', '--format', 'json')).trim()) as Record<
      string,
      string
    >;
    expect(json).toMatchObject({
      Name: 'web',
      Mode: 'replicated',
      Replicas: '3/3',
      Image: 'busybox',
    });

    await ok('service', 'scale', 'web=5');
    expect(await running('web')).toHaveLength(5);
    await rememberPids();
    await ok('service', 'scale', 'web=0');
    await until(() => running('web'), {
      what: 'no web containers',
      accept: (c) => c.length === 0,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
  }, 60_000);

  it('replaces a container killed by hand (restart policy)', async () => {
    await ok('service', 'scale', 'web=2');
    const before = await running('web');
    expect(before).toHaveLength(2);
    const victim = before[0]!.record.Id;
    await ok('kill', victim);
    const after = await until(() => running('web'), {
      what: 'a replacement container',
      accept: (c) => c.length === 2 && !c.some((x) => x.record.Id === victim),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(after).toHaveLength(2);
    const ps = await ok('service', 'ps', 'web');
    expect(ps).toMatch(/Failed .* ago\s+"task: non-zero exit \(137\)"/);
    await rememberPids();
  }, 60_000);

  it('leaves running containers untouched across a daemon restart', async () => {
    const before = (await running('web')).map((c) => `${c.record.Id}:${c.state.Pid}`).sort();
    expect(before).toHaveLength(2);
    const pid = s.daemonPid();
    process.kill(pid, 'SIGTERM');
    await until(() => alive(pid), {
      what: 'the daemon to exit',
      accept: (a) => !a,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const log = openSync(join(s.dataRoot, 'daemon.log'), 'a');
    const child = spawn(
      process.execPath,
      [
        '--max-semi-space-size=1',
        cliPath,
        '--data-root',
        s.dataRoot,
        '--exec-root',
        s.execRoot,
        'daemon',
        '--exit-on-leave',
        ...s.daemonFlags(),
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    if (child.pid !== undefined) s.pids.add(child.pid);
    await until(() => cli('service', 'ls'), {
      what: 'service ls 2/2',
      accept: (r) => /2\/2/.test(r.stdout),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const after = (await running('web')).map((c) => `${c.record.Id}:${c.state.Pid}`).sort();
    expect(after).toEqual(before);
    const nodes = await ok('node', 'ls');
    expect(nodes).toMatch(/\*\s+\S+\s+Ready\s+Active\s+Leader/);
  }, 60_000);

  it('drains the only node: tasks stay pending with the reason', async () => {
    await ok('node', 'update', '--availability', 'drain', 'self');
    await until(() => running('web'), {
      what: 'web stopped',
      accept: (c) => c.length === 0,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const ps = await until(() => ok('service', 'ps', 'web', '--filter', 'desired-state=running'), {
      what: 'pending tasks',
      accept: (s) => /Pending/.test(s),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(ps).toContain(
      'no suitable node (1 node not available for new tasks (paused or drained))',
    );
    await ok('node', 'update', '--availability', 'active', 'self');
    await until(() => running('web'), {
      what: 'web back',
      accept: (c) => c.length === 2,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    await rememberPids();
  }, 60_000);

  it('--format takes Go templates and --pretty reads as docker, on every listing and inspect', async () => {
    expect(await ok('service', 'ls', '--format', '{{.Name}} {{.Replicas}}')).toBe('web 2/2\n');
    const table = await ok(
      'service',
      'ps',
      'web',
      '--format',
      'table {{.Name}}\\t{{.DesiredState}}',
    );
    expect(table.split('\n')[0]).toMatch(/^NAME\s+DESIRED STATE$/);
    expect(table).toMatch(/^web\.1\s+Running$/m);
    expect(
      await ok('node', 'inspect', '--format', '{{.Status.State}} {{.Spec.Role}}', 'self'),
    ).toBe('ready manager\n');
    const [c] = await running('web');
    const pid = await ok('inspect', '-f', '{{.State.Pid}}', c!.record.Id);
    expect(Number(pid)).toBe(c!.state.Pid);
    expect(
      await ok('ps', '--format', '{{.ID}}', '--filter', 'label=com.docker.swarm.service.name=web'),
    ).toContain(c!.record.Id.slice(0, 12));
    const pretty = await ok('service', 'inspect', '--pretty', 'web');
    expect(pretty).toMatch(
      /^\nID:\t\t\w+\nName:\t\tweb\nService Mode:\tReplicated\n Replicas:\t2\n/,
    );
    expect(pretty).toContain('ContainerSpec:\n Image:\t\tbusybox\n Args:\t\thttpd -f\n');
    expect(await ok('node', 'inspect', '--pretty', 'self')).toMatch(
      /\nStatus:\n State:\t\t\tReady\n/,
    );
    // Unset optional fields print as docker prints them; two objects, one line each.
    expect(
      await ok(
        'service',
        'inspect',
        '-f',
        '[{{.Spec.TaskTemplate.ContainerSpec.StopSignal}}] {{.Spec.Mode.Global}}',
        'web',
        'web',
      ),
    ).toBe('[] <nil>\n[] <nil>\n');
    // node ps (this node by default) and the task filters docker's ps verbs share.
    const mine = await ok('node', 'ps', '--format', '{{.Name}} {{.DesiredState}}');
    expect(mine).toMatch(/^web\.1 Running$/m);
    expect(
      await ok(
        'node',
        'ps',
        'self',
        '-f',
        'name=web.2',
        '-f',
        'desired-state=running',
        '--format',
        '{{.Name}}',
      ),
    ).toBe('web.2\n');
    const shutdown = await ok(
      'service',
      'ps',
      'web',
      '-f',
      'desired-state=shutdown',
      '-f',
      'desired-state=accepted',
      '--format',
      '{{.DesiredState}}',
    );
    // Only the filtered states come back (history rows of earlier scaling among them).
    expect(
      shutdown.split('\n').filter((l) => l !== '' && l !== 'Shutdown' && l !== 'Accepted'),
    ).toEqual([]);
    const badFilter = await cli('node', 'ps', '-f', 'colour=red');
    expect(badFilter.code).toBe(125);
    expect(badFilter.stderr).toContain(`invalid filter 'colour'`);
    const bad = await cli('service', 'ls', '--format', '{{.Nope}}');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe('Error: --format: template: no field "Nope" in ".Nope"\n');
  }, 60_000);

  it('refuses bad input with a clear error and changes nothing', async () => {
    const unknown = await cli('service', 'scale', 'nope=3');
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toBe('Error: service nope not found\n');
    expect((await cli('node', 'update', '--availability', 'active', 'nonode')).stderr).toBe(
      'Error: node nonode not found\n',
    );
    await ok(
      'service',
      'create',
      '-d',
      '--name',
      'g',
      '--mode',
      'global',
      '--stop-grace-period',
      '1s',
      'busybox',
      'sleep',
      '1000',
    );
    const global = await cli('service', 'scale', 'g=3');
    expect(global.code).toBe(125);
    expect(global.stderr).toContain(
      'scale can only be used with replicated or replicated-job mode',
    );
    const bad = await cli('service', 'create', '--constraint', 'node.role=manager=x', 'busybox');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('--constraint');
    const globalReplicas = await cli(
      'service',
      'create',
      '--mode',
      'global',
      '--replicas',
      '2',
      'busybox',
    );
    expect(globalReplicas.stderr).toContain('replicas can only be used with replicated');
    // Optimistic concurrency: an update carrying a version older than the stored one is refused.
    const api = s.api();
    const web = await api.get<Service>('/services/web');
    const stale = api.post(`/services/${web.ID}/update?version=${web.Version.Index - 1}`, {
      ...web.Spec,
      Mode: { Replicated: { Replicas: 9 } },
    });
    await expect(stale).rejects.toMatchObject({
      code: 'TSS_OUT_OF_SEQUENCE',
      message: 'update out of sequence',
    });
    expect((await api.get<Service>('/services/web')).Spec.Mode).toEqual(web.Spec.Mode);
    const names = (await ok('service', 'ls', '--format', 'json'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { Name: string }).Name);
    expect(names.sort()).toEqual(['g', 'web']);
    await rememberPids();
  }, 60_000);

  it('deploys a stack in depends_on order, redeploys only what changed, rm leaves nothing', async () => {
    const file = join(s.base, 'compose.yml');
    const compose = (webReplicas: number) =>
      [
        'services:',
        '  db:',
        '    image: busybox',
        '    command: sleep 1000',
        '    stop_grace_period: 1s',
        '  web:',
        '    image: busybox',
        '    command: httpd -f',
        '    stop_grace_period: 1s',
        '    depends_on: [db]',
        '    deploy:',
        `      replicas: ${webReplicas}`,
        '  migrate:',
        '    image: busybox',
        '    command: sleep 1',
        '    deploy:',
        '      mode: replicated-job',
        '  app:',
        '    image: busybox',
        '    command: sleep 1000',
        '    stop_grace_period: 1s',
        '    depends_on:',
        '      migrate:',
        '        condition: service_completed_successfully',
        '',
      ].join('\n');
    writeFileSync(file, compose(1));
    const first = await ok('stack', 'deploy', '-c', file, 'shop');
    const lines = first.trim().split('\n');
    // The stack's network first (as docker prints it), then the services with nothing to wait
    // for at once; dependents once theirs are ready.
    expect(lines.slice(0, 3)).toEqual([
      'Creating network shop_default',
      'Creating service shop_db',
      'Creating service shop_migrate',
    ]);
    for (const want of [
      'Waiting for shop_db (service_started) before deploying shop_web',
      'Waiting for shop_migrate (service_completed_successfully) before deploying shop_app',
      'Creating service shop_web',
      'Creating service shop_app',
      'shop_web: overall progress: 1 out of 1 tasks',
      'shop_app: verify: Service converged',
      'shop_migrate: verify: Service converged',
    ]) {
      expect(lines).toContain(want);
    }
    expect(lines.indexOf('Creating service shop_web')).toBeGreaterThan(
      lines.indexOf('shop_db: verify: Service converged'),
    );

    const api = s.api();
    const services = async () =>
      new Map(
        (await api.get<Service[]>('/services'))
          .filter((s) => s.Spec.Labels?.['com.docker.stack.namespace'] === 'shop')
          .map((s) => [s.Spec.Name, s]),
      );
    const tasksOf = async (name: string) => {
      const s = (await services()).get(name);
      if (!s) throw new Error(`no service ${name}`);
      return api.get<Task[]>(`/tasks?service=${s.ID}`);
    };
    const deployed = await services();
    expect(deployed.get('shop_web')?.Spec.Labels).toEqual({
      'com.docker.stack.namespace': 'shop',
      'com.docker.stack.image': 'busybox',
    });
    // Order, from the store: web's task was made after db's task ran, app's after migrate ended.
    const [db] = await tasksOf('shop_db');
    const [web] = await tasksOf('shop_web');
    const [migrate] = await tasksOf('shop_migrate');
    const [app] = await tasksOf('shop_app');
    expect(db?.Status.State).toBe('running');
    expect(migrate?.Status.State).toBe('complete');
    expect(Date.parse(web?.CreatedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(db?.Status.Timestamp ?? ''),
    );
    expect(Date.parse(app?.CreatedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(migrate?.Status.Timestamp ?? ''),
    );
    expect((await running('shop_web')).length).toBe(1);
    expect((await running('shop_app')).length).toBe(1);

    // Redeploy with one more web replica: only web changes, the others keep their tasks.
    const idsOf = async (name: string) => (await tasksOf(name)).map((t) => t.ID).sort();
    const before = {
      db: await idsOf('shop_db'),
      app: await idsOf('shop_app'),
      migrate: await idsOf('shop_migrate'),
      web: await idsOf('shop_web'),
    };
    writeFileSync(file, compose(2));
    const second = (await ok('stack', 'deploy', '-c', file, 'shop')).trim().split('\n');
    expect(second[0]).toMatch(/^Updating service shop_web \(id: \w+\)$/);
    expect(second.at(-1)).toBe('shop_web: verify: Service converged');
    expect(second.filter((l) => !l.startsWith('shop_web'))).toEqual([second[0]]);
    expect(await idsOf('shop_db')).toEqual(before.db);
    expect(await idsOf('shop_app')).toEqual(before.app);
    expect(await idsOf('shop_migrate')).toEqual(before.migrate);
    expect(await idsOf('shop_web')).toEqual(expect.arrayContaining(before.web));
    expect((await running('shop_web')).length).toBe(2);
    expect(await ok('stack', 'deploy', '-c', file, 'shop')).toBe('');

    expect(await ok('stack', 'ls')).toMatch(/^NAME\s+SERVICES\nshop\s+4\n$/);
    expect(await ok('stack', 'ls', '--format', 'json')).toBe('{"Name":"shop","Services":"4"}\n');
    const rows = (await ok('stack', 'services', 'shop', '--format', 'json'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows.map((r) => [r['Name'], r['Mode'], r['Replicas']])).toEqual([
      ['shop_app', 'replicated', '1/1'],
      ['shop_db', 'replicated', '1/1'],
      ['shop_migrate', 'replicated job', '0/0 (1/1 completed)'],
      ['shop_web', 'replicated', '2/2'],
    ]);
    expect(await ok('stack', 'ps', 'shop')).toMatch(
      /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS\n/,
    );
    const ps = (await ok('stack', 'ps', 'shop', '--format', 'json'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(ps.map((r) => r['Name']).sort()).toEqual([
      'shop_app.1',
      'shop_db.1',
      'shop_migrate.1',
      'shop_web.1',
      'shop_web.2',
    ]);

    // A file without app: kept without --prune, removed with it, and nothing else is touched.
    writeFileSync(file, compose(2).split('  app:')[0] as string);
    expect(await ok('stack', 'deploy', '-c', file, 'shop')).toBe('');
    expect([...(await services()).keys()]).toContain('shop_app');
    expect(await ok('stack', 'deploy', '--prune', '-c', file, 'shop')).toBe(
      'Removing service shop_app\n',
    );
    expect(await idsOf('shop_db')).toEqual(before.db);
    await until(() => running('shop_app'), {
      what: 'shop_app containers gone',
      accept: (c) => c.length === 0,
      timeoutMs: 20_000,
      intervalMs: 100,
    });

    await rememberPids();
    expect(await ok('stack', 'rm', 'shop')).toBe(
      [
        'Removing service shop_db',
        'Removing service shop_migrate',
        'Removing service shop_web',
        'Removing network shop_default',
        '',
      ].join('\n'),
    );
    // stack rm returned: nothing of the stack is left, without waiting any further.
    const ids = new Set([...deployed.values()].map((s) => s.ID));
    expect((await services()).size).toBe(0);
    expect((await api.get<Task[]>('/tasks')).filter((t) => ids.has(t.ServiceID))).toEqual([]);
    const left = await s.runtime.list({
      all: true,
      labels: { 'com.docker.stack.namespace': 'shop' },
    });
    expect(left.map((c) => c.record.Id)).toEqual([]);
  }, 120_000);

  it('deploys stacks/demo as it is and removes it', async () => {
    const out = await ok(
      'stack',
      'deploy',
      '-c',
      join(repo, 'stacks', 'demo', 'compose.yml'),
      'demo',
    );
    expect(out).toContain('demo_migrate: verify: Service converged\n');
    expect(out).toContain('demo_web: overall progress: 3 out of 3 tasks\n');
    expect(out.indexOf('Creating service demo_web')).toBeGreaterThan(
      out.indexOf('demo_migrate: verify: Service converged'),
    );
    expect((await running('demo_web')).length).toBe(3);
    expect((await running('demo_agent')).length).toBe(1);
    await rememberPids();
    await ok('stack', 'rm', 'demo');
    expect(
      await s.runtime.list({ all: true, labels: { 'com.docker.stack.namespace': 'demo' } }),
    ).toEqual([]);
  }, 120_000);

  it('fails a stack deploy that cannot converge, naming the service and its task error', async () => {
    const file = join(s.base, 'bad.yml');
    writeFileSync(
      file,
      [
        'services:',
        '  ghost:',
        '    image: nope:1',
        '  nowhere:',
        '    image: busybox',
        '    deploy:',
        '      placement:',
        '        constraints: [node.role == worker]',
        '  ok:',
        '    image: busybox',
        '    command: sleep 1000',
        '    stop_grace_period: 1s',
        '',
      ].join('\n'),
    );
    const r = await cli('stack', 'deploy', '-c', file, 'bad');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('Error: failed to deploy stack bad:\n');
    expect(r.stderr).toContain('bad_ghost: No such image: nope:1\n');
    expect(r.stderr).toMatch(/bad_nowhere: no suitable node \(.*\)\n/);
    expect(r.stdout).toContain('bad_ok: verify: Service converged\n');
    expect(await ok('stack', 'rm', 'bad')).toMatch(/^Removing service bad_ghost\n/);
    expect(await ok('stack', 'deploy', '-d', '-c', file, 'bad')).toBe(
      'Creating network bad_default\nCreating service bad_ghost\nCreating service bad_nowhere\nCreating service bad_ok\n',
    );
    await rememberPids();
    expect(await ok('stack', 'rm', 'bad')).toMatch(/^Removing service bad_ghost\n/);
    const left = await s.runtime.list({
      all: true,
      labels: { 'com.docker.stack.namespace': 'bad' },
    });
    expect(left).toEqual([]);
  }, 120_000);

  it('shows service logs, join tokens and takes swarm updates', async () => {
    await ok(
      'service',
      'create',
      '-q',
      '--name',
      'echo',
      '--stop-grace-period',
      '1s',
      'busybox',
      'sh',
      '-c',
      'echo hello; echo oops >&2; sleep 1000',
    );
    const logs = await until(() => cli('service', 'logs', 'echo'), {
      what: 'both log lines',
      accept: (r) => r.stdout !== '' && r.stderr !== '',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    // docker's prefix with 12 characters of the task id; stderr lines on stderr.
    expect(logs.stdout).toMatch(/^echo\.1\.\w{12}@\S+ {4}\| hello\n$/);
    expect(logs.stderr).toMatch(/^echo\.1\.\w{12}@\S+ {4}\| oops\n$/);
    expect(await ok('service', 'logs', '--raw', 'echo')).toBe('hello\n');
    expect(await ok('service', 'logs', '--no-task-ids', 'echo')).toMatch(
      /^echo\.1@\S+ {4}\| hello\n$/,
    );
    expect(await ok('service', 'logs', '--no-trunc', 'echo')).toMatch(/^echo\.1\.\w{25}@/);
    expect(await ok('service', 'logs', '-t', '--raw', 'echo')).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z hello\n$/,
    );
    expect(await ok('service', 'logs', '--since', '2m', '--raw', 'echo')).toBe('hello\n');
    expect(await ok('service', 'logs', '--since', '2100-01-01T00:00:00Z', 'echo')).toBe('');
    const badSince = await cli('service', 'logs', '--since', 'yesterday', 'echo');
    expect(badSince.code).toBe(125);
    expect(badSince.stderr).toContain('invalid value "yesterday" for --since');
    const token = (await ok('swarm', 'join-token', '-q', 'worker')).trim();
    expect(token).toMatch(/^SWMTKN-1-\w{50}-\w{25}$/);
    const rotated = (await ok('swarm', 'join-token', '--rotate', '-q', 'worker')).trim();
    expect(rotated).not.toBe(token);
    expect(rotated.slice(0, 60)).toBe(token.slice(0, 60));
    await ok('swarm', 'update', '--task-history-limit', '2', '--dispatcher-heartbeat', '2s');
    const bad = await cli('swarm', 'update', '--dispatcher-heartbeat', 'soon');
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('--dispatcher-heartbeat');
    await ok('service', 'rm', 'echo');
    await rememberPids();
  }, 60_000);

  it('swarm leave --force removes every container, process and file it started', async () => {
    await rememberPids();
    const natsPid = Number(
      readFileSync(join(s.dataRoot, 'nats', 'nats-server.pid'), 'utf8').trim(),
    );
    s.pids.add(natsPid);
    expect(alive(natsPid)).toBe(true);
    const out = await ok('swarm', 'leave', '--force');
    expect(out).toBe('Node left the swarm.\n');
    expect(await s.runtime.list({ all: true })).toEqual([]);
    for (const pid of s.pids) {
      await until(() => alive(pid), {
        what: `pid ${pid} to exit`,
        accept: (a) => !a,
        timeoutMs: 10_000,
        intervalMs: 100,
      });
    }
    const mounts = readFileSync('/proc/mounts', 'utf8');
    expect(mounts).not.toContain(s.base);
    for (const dir of ['raft', 'certificates', 'nats', 'swarm', 'worker']) {
      expect(existsSync(join(s.dataRoot, dir))).toBe(false);
    }
  }, 60_000);
});
