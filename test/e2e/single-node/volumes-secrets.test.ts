import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service, Task } from '../../../src/api/index.js';
import { OneNodeSwarm, skipE2e } from '../../helpers/e2e.js';
import { until } from '../../helpers/until.js';

function mountPoints(): Set<string> {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  return new Set(info.split('\n').map((l) => l.split(' ')[4] ?? ''));
}

/** Every file under `dir` that is on disk: mounted filesystems (tmpfs) below it are skipped. */
function diskFilesUnder(dir: string, mounts = mountPoints()): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && !mounts.has(p)) out.push(...diskFilesUnder(p, mounts));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const skip = skipE2e('volumes and secrets e2e');

describe.skipIf(skip)('volumes, secrets and configs on one node (root, built CLI)', () => {
  let s: OneNodeSwarm;
  // Marker bytes that must never appear in clear under the data root.
  const secretText = `pw-${Math.random().toString(36).slice(2)}-do-not-leak`;

  const cli = (args: string[], input?: string) => s.cli(args, input === undefined ? {} : { input });
  const ok = (...args: string[]) => s.ok(...args);
  const api = () => s.api();
  const running = (service: string) => s.running(service);

  /** The one running container of a service, once it is the only one and not `not`. */
  const theContainer = async (service: string, not?: string): Promise<string> => {
    const list = await until(() => running(service), {
      what: `one running container of ${service}`,
      accept: (c) => c.length === 1 && c[0]!.record.Id !== not,
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    return list[0]!.record.Id;
  };

  const exec = (id: string, script: string): Promise<string> => ok('exec', id, 'sh', '-c', script);

  beforeAll(async () => {
    s = await OneNodeSwarm.create('tsswarm-e2e-vol-');
  }, 60_000);
  afterAll(() => s?.destroy(), 60_000);

  it('mounts a secret at /run/secrets with its mode and owner, never in clear on disk or in inspect', async () => {
    const file = join(s.base, 'pw.txt');
    writeFileSync(file, secretText);
    const id = (await ok('secret', 'create', '--label', 'team=db', 'db_pw', file)).trim();
    expect(id).toMatch(/^\w{25}$/);
    expect((await cli(['config', 'create', 'app_conf', '-'], 'port=8080\n')).code).toBe(0);

    const ls = await ok('secret', 'ls');
    expect(ls.split('\n')[0]).toMatch(/^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED$/);
    expect(ls).toMatch(new RegExp(`${id}\\s+db_pw\\s+`));
    expect((await ok('config', 'ls')).split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATED\s+UPDATED$/);

    await ok(
      'service',
      'create',
      '--name',
      'db',
      '--stop-grace-period',
      '1s',
      '--secret',
      'source=db_pw,target=password,uid=1000,gid=1001,mode=0400',
      '--secret',
      'db_pw',
      '--config',
      'source=app_conf,target=/etc/app.conf,mode=0440',
      'busybox',
      'sleep',
      '600',
    );
    const c = await theContainer('db');
    expect(await exec(c, 'cat /run/secrets/password')).toBe(secretText);
    expect(await exec(c, 'cat /run/secrets/db_pw')).toBe(secretText);
    expect(await exec(c, 'stat -c "%a %u %g" /run/secrets/password')).toBe('400 1000 1001\n');
    expect(await exec(c, 'stat -c "%a %u %g" /run/secrets/db_pw')).toBe('444 0 0\n');
    expect(await exec(c, 'cat /etc/app.conf; stat -c "%a" /etc/app.conf')).toBe('port=8080\n440\n');
    // The secret's source is a tmpfs of the container's own, not the disk.
    expect(await exec(c, 'grep " /run/secrets/password " /proc/mounts | cut -d" " -f3')).toBe(
      'tmpfs\n',
    );
    expect((await cli(['exec', c, 'sh', '-c', 'echo x > /run/secrets/password'])).code).not.toBe(0);

    const inspect = await ok('secret', 'inspect', 'db_pw');
    expect(inspect).toContain('"Name": "db_pw"');
    expect(inspect).not.toContain(secretText);
    expect(inspect).not.toContain(Buffer.from(secretText).toString('base64'));
    expect(inspect).not.toContain('Sealed');
    expect(await ok('service', 'inspect', 'db')).not.toContain(secretText);

    // Raft log and snapshots, the worker's files, the container records: no clear text anywhere.
    const secretsDir = join(s.dataRoot, 'containers', c, 'secrets');
    expect(mountPoints().has(secretsDir)).toBe(true);
    const needles = [secretText, Buffer.from(secretText).toString('base64')];
    for (const f of diskFilesUnder(s.dataRoot)) {
      if (statSync(f).size > 64 * 1024 * 1024) continue;
      const text = readFileSync(f).toString('latin1');
      for (const n of needles) expect(text.includes(n), `${n} found in ${f}`).toBe(false);
    }
    const raftFiles = diskFilesUnder(join(s.dataRoot, 'raft'));
    expect(raftFiles.some((f) => readFileSync(f, 'latin1').includes('aes-256-gcm:v1:'))).toBe(true);
  }, 90_000);

  it('refuses to remove a secret or config in use, and changes nothing', async () => {
    const r = await cli(['secret', 'rm', 'db_pw']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("secret 'db_pw' is in use by the following service: db");
    const rc = await cli(['config', 'rm', 'app_conf']);
    expect(rc.code).toBe(125);
    expect(rc.stderr).toContain("config 'app_conf' is in use by the following service: db");
    expect(await ok('secret', 'ls', '-q')).toMatch(/^\w{25}\n$/);
    expect(await ok('config', 'ls', '-q')).toMatch(/^\w{25}\n$/);
  });

  it('answers bad input with a clear error and changes nothing', async () => {
    const secretsBefore = await ok('secret', 'ls', '-q');
    const servicesBefore = await ok('service', 'ls', '-q');
    const missing = await cli(['secret', 'create', 'x1', join(s.base, 'nope.txt')]);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain(`cannot read ${join(s.base, 'nope.txt')}: no such file`);

    const taken = await cli(['secret', 'create', 'db_pw', '-'], 'other');
    expect(taken.code).toBe(125);
    expect(taken.stderr).toContain('secret db_pw already exists');

    const big = join(s.base, 'big.bin');
    writeFileSync(big, Buffer.alloc(500 * 1024 + 1, 'a'));
    const tooBig = await cli(['secret', 'create', 'big', big]);
    expect(tooBig.code).toBe(125);
    expect(tooBig.stderr).toContain('512001 bytes exceeds the limit of 512000');

    const badMode = await cli([
      'service',
      'create',
      '--name',
      'bad',
      '--secret',
      'source=db_pw,mode=0999',
      'busybox',
      'true',
    ]);
    expect(badMode.code).toBe(125);
    expect(badMode.stderr).toContain('invalid mode "0999"');

    const unknown = await cli([
      'service',
      'create',
      '--name',
      'bad',
      '--secret',
      'nosuch',
      'busybox',
    ]);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain('secret not found: nosuch');

    const badMount = await cli([
      'service',
      'create',
      '--name',
      'bad',
      '--mount',
      'type=volume,source=x,target=relative',
      'busybox',
    ]);
    expect(badMount.code).toBe(125);
    expect(badMount.stderr).toContain('invalid mount target "relative": must be absolute');

    expect(await ok('secret', 'ls', '-q')).toBe(secretsBefore);
    expect(await ok('service', 'ls', '-q')).toBe(servicesBefore);
  });

  it('adds and removes a secret and a mount of a running service with service update', async () => {
    const before = await theContainer('db');
    const key = `key-${Math.random().toString(36).slice(2)}`;
    expect((await cli(['secret', 'create', 'api_key', '-'], key)).code).toBe(0);

    // An unknown name is refused before anything changes.
    const version = (await api().get<Service>('/services/db')).Version.Index;
    const unknown = await cli(['service', 'update', '--secret-add', 'nosuch', 'db']);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain('secret not found: nosuch');
    const badMount = await cli(['service', 'update', '--mount-add', 'type=tmpfs,target=x', 'db']);
    expect(badMount.code).toBe(125);
    expect(badMount.stderr).toContain('invalid mount target "x": must be absolute');
    expect((await api().get<Service>('/services/db')).Version.Index).toBe(version);
    expect((await running('db')).map((c) => c.record.Id)).toEqual([before]);

    const added = await ok(
      'service',
      'update',
      '--secret-add',
      'source=api_key,target=key,mode=0400',
      '--mount-add',
      'type=tmpfs,target=/scratch',
      'db',
    );
    expect(added).toContain('verify: Service converged');
    const withKey = await theContainer('db', before);
    expect(await exec(withKey, 'cat /run/secrets/key; stat -c %a /run/secrets/key')).toBe(
      `${key}400\n`,
    );
    expect(await exec(withKey, 'grep " /scratch " /proc/mounts | cut -d" " -f3')).toBe('tmpfs\n');
    // The secrets it had are still there.
    expect(await exec(withKey, 'cat /run/secrets/password')).toBe(secretText);
    const inUse = await cli(['secret', 'rm', 'api_key']);
    expect(inUse.stderr).toContain("secret 'api_key' is in use by the following service: db");

    // Removed by name (the secret) and by target (the mount): the next task has neither.
    await ok('service', 'update', '--secret-rm', 'api_key', '--mount-rm', '/scratch', 'db');
    const without = await theContainer('db', withKey);
    expect(await exec(without, 'ls /run/secrets')).toBe('db_pw\npassword\n');
    expect(await exec(without, 'grep -c " /scratch " /proc/mounts || true')).toBe('0\n');
    const refs = (await api().get<Service>('/services/db')).Spec.TaskTemplate.ContainerSpec;
    expect(refs.Secrets?.map((r) => r.SecretName)).toEqual(['db_pw', 'db_pw']);
    expect(refs.Mounts).toBeUndefined();
    expect(await ok('secret', 'rm', 'api_key')).toBe('api_key\n');
  }, 120_000);

  it('rejects a task whose bind source is missing on the node, naming the node', async () => {
    await ok(
      'service',
      'create',
      '--detach',
      '--name',
      'binder',
      '--restart-condition',
      'none',
      '--mount',
      `type=bind,source=${join(s.base, 'absent')},target=/x`,
      'busybox',
      'true',
    );
    const tasks = await until(() => api().get<Task[]>('/tasks?service=binder'), {
      what: 'a rejected binder task',
      accept: (t) => t.some((x) => x.Status.State === 'rejected'),
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const err = tasks.find((x) => x.Status.State === 'rejected')?.Status.Err ?? '';
    expect(err).toContain(`bind source path does not exist: ${join(s.base, 'absent')}`);
    expect(err).toMatch(/\(on node \S+\)/);
    await ok('service', 'rm', 'binder');
  }, 60_000);

  it('keeps a named volume of a stack when its task goes, for the next task', async () => {
    const dir = join(s.base, 'stack-vol');
    mkdirSync(dir, { recursive: true });
    const compose = join(dir, 'compose.yml');
    writeFileSync(
      compose,
      [
        'services:',
        '  app:',
        '    image: busybox',
        '    command: ["sh", "-c", "date +%s%N >> /data/starts; exec sleep 600"]',
        '    stop_grace_period: 1s',
        '    volumes:',
        '      - data:/data',
        '      - type: tmpfs',
        '        target: /scratch',
        '        tmpfs: {size: 1048576, mode: 0o700}',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    await ok('stack', 'deploy', '-c', compose, 'sv');
    const first = await theContainer('sv_app');
    expect(await exec(first, 'wc -l < /data/starts')).toBe('1\n');
    expect(await exec(first, 'stat -c %a /scratch; grep " /scratch " /proc/mounts')).toMatch(
      /^700\ntmpfs \/scratch tmpfs .*size=1024k/,
    );
    expect(await ok('volume', 'ls', '-q')).toContain('sv_data\n');

    // `service update --force` replaces the task; the volume stays and the new task finds the data.
    const forced = await ok('service', 'update', '--force', 'sv_app');
    expect(forced).toContain('verify: Service converged');
    const second = await theContainer('sv_app', first);
    expect(await exec(second, 'wc -l < /data/starts')).toBe('2\n');
    const updated = await api().get<Service>('/services/sv_app');
    expect(updated.Spec.TaskTemplate.ForceUpdate).toBe(1);
    expect(await ok('volume', 'ls', '-q')).toContain('sv_data\n');

    const inUse = await cli(['volume', 'rm', 'sv_data']);
    expect(inUse.code).toBe(125);
    expect(inUse.stderr).toContain('remove sv_data: volume is in use');

    await ok('stack', 'rm', 'sv');
    await until(
      () => s.runtime.list({ all: true, labels: { 'com.docker.swarm.service.name': 'sv_app' } }),
      {
        what: 'sv_app containers gone',
        accept: (c) => c.length === 0,
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    // Kept when the tasks go; removable once no container uses it.
    expect(await ok('volume', 'ls', '-q')).toContain('sv_data\n');
    expect(await ok('volume', 'rm', 'sv_data')).toBe('sv_data\n');
  }, 120_000);

  it('moves a stack service onto a new config version when its file changed', async () => {
    const dir = join(s.base, 'stack-conf');
    mkdirSync(dir, { recursive: true });
    const compose = join(dir, 'compose.yml');
    const conf = join(dir, 'app.conf');
    writeFileSync(conf, 'v=1\n');
    writeFileSync(join(dir, 'token.txt'), secretText);
    writeFileSync(
      compose,
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["sleep", "600"]',
        '    stop_grace_period: 1s',
        '    configs:',
        '      - source: conf',
        '        target: /etc/app.conf',
        '    secrets:',
        '      - token',
        '      - source: shared',
        '        mode: 0400',
        'configs:',
        '  conf:',
        '    file: ./app.conf',
        'secrets:',
        '  token:',
        '    file: ./token.txt',
        '  shared:',
        '    external: true',
        '    name: db_pw',
        '',
      ].join('\n'),
    );
    const out = await ok('stack', 'deploy', '-c', compose, 'sc');
    expect(out).toContain('Creating config sc_conf');
    expect(out).toContain('Creating secret sc_token');
    const first = await theContainer('sc_web');
    expect(await exec(first, 'cat /etc/app.conf')).toBe('v=1\n');
    expect(await exec(first, 'cat /run/secrets/token')).toBe(secretText);
    expect(await exec(first, 'stat -c %a /run/secrets/shared')).toBe('400\n');

    // Same files: nothing changes.
    const again = await ok('stack', 'deploy', '-c', compose, 'sc');
    expect(again).not.toContain('Creating');
    expect(again).not.toContain('Updating service');

    writeFileSync(conf, 'v=2\n');
    // Not detached: the deploy returns once the running task was replaced by one on the new version.
    const redeploy = await ok('stack', 'deploy', '-c', compose, 'sc');
    expect(redeploy).toMatch(/Creating config sc_conf-[0-9a-f]{10}\n/);
    expect(redeploy).toContain('Updating service sc_web');
    const svc = await api().get<Service>('/services/sc_web');
    const ref = svc.Spec.TaskTemplate.ContainerSpec.Configs?.[0];
    expect(ref?.ConfigName).toMatch(/^sc_conf-[0-9a-f]{10}$/);
    expect(svc.PreviousSpec?.TaskTemplate.ContainerSpec.Configs?.[0]?.ConfigName).toBe('sc_conf');
    const tasks = (await api().get<Task[]>('/tasks?service=sc_web')).filter(
      (t) => t.DesiredState === 'running',
    );
    expect(
      tasks.map((t) => [t.Status.State, t.Spec.ContainerSpec.Configs?.[0]?.ConfigName]),
    ).toEqual([['running', ref?.ConfigName]]);
    const second = await theContainer('sc_web', first);
    expect(await exec(second, 'cat /etc/app.conf')).toBe('v=2\n');
    expect(await exec(second, 'cat /run/secrets/token')).toBe(secretText);
    // The old version stays while a rollback could return to it (PreviousSpec names it).
    const configs = await ok('config', 'ls');
    expect(configs).toMatch(/sc_conf-[0-9a-f]{10}/);
    expect(configs).toMatch(/sc_conf\s/);

    const missingExternal = join(dir, 'bad.yml');
    writeFileSync(
      missingExternal,
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    secrets: [nope]',
        'secrets:',
        '  nope:',
        '    external: true',
        '',
      ].join('\n'),
    );
    const bad = await cli(['stack', 'deploy', '-c', missingExternal, 'sc2']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('secret nope is declared external but does not exist');

    const rmOut = await ok('stack', 'rm', 'sc');
    expect(rmOut).toContain('Removing secret sc_token');
    expect(rmOut).toMatch(/Removing config sc_conf-[0-9a-f]{10}/);
    expect(rmOut).toContain('Removing config sc_conf\n');
    expect(await ok('secret', 'ls')).toContain('db_pw');
  }, 120_000);

  it('removes a service’s secret files with its containers', async () => {
    const c = await theContainer('db');
    const secretsDir = join(s.dataRoot, 'containers', c, 'secrets');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${secretsDir} `);
    await ok('service', 'rm', 'db');
    // The container directory goes last, after its tmpfs was unmounted.
    await until(
      async () =>
        (await s.runtime.list({ all: true, labels: { 'com.docker.swarm.service.name': 'db' } }))
          .length === 0 && !existsSync(join(s.dataRoot, 'containers', c)),
      {
        what: 'db containers and their files gone',
        accept: (gone) => gone,
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${secretsDir} `);
    expect(await ok('secret', 'rm', 'db_pw')).toBe('db_pw\n');
  }, 60_000);
});
