// Volumes, --mount and secret/config file mounts of the runtime, on the real kernel.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateOptions } from '../../../src/runtime/container/index.js';
import { cli, mountsUnder, removeAll, setUp, skipReason, tearDown, type Env } from './harness.js';

const reason = skipReason();
let env: Env;

async function runToEnd(o: CreateOptions): Promise<{ id: string; code: number; out: string }> {
  const id = await env.rt.create(o);
  await env.rt.start(id);
  const r = await env.rt.wait(id);
  let out = '';
  for await (const e of env.rt.logs(id)) out += e.line;
  return { id, code: r.exitCode, out };
}

describe.skipIf(reason !== undefined)(`volumes and file mounts ${reason ?? ''}`, () => {
  beforeAll(async () => {
    env = await setUp();
  });
  afterEach(async () => {
    await removeAll(env);
  });
  afterAll(async () => {
    await tearDown(env);
  });

  it('volume create|ls|inspect|rm with docker columns, and run -v NAME keeps data', async () => {
    expect(await cli(env, ['volume', 'create', '--label', 'tier=db', 'pgdata'])).toMatchObject({
      code: 0,
      stdout: 'pgdata\n',
    });
    // Created again: the same volume, as docker answers.
    expect((await cli(env, ['volume', 'create', 'pgdata'])).stdout).toBe('pgdata\n');
    const ls = await cli(env, ['volume', 'ls']);
    expect(ls.stdout).toBe('DRIVER   VOLUME NAME\nlocal    pgdata\n');
    const inspect = JSON.parse((await cli(env, ['volume', 'inspect', 'pgdata'])).stdout) as {
      Name: string;
      Driver: string;
      Mountpoint: string;
      Labels: Record<string, string>;
      Scope: string;
    }[];
    expect(inspect[0]).toMatchObject({
      Name: 'pgdata',
      Driver: 'local',
      Mountpoint: join(env.dataRoot, 'volumes', 'pgdata', '_data'),
      Labels: { tier: 'db' },
      Scope: 'local',
    });
    expect((await cli(env, ['volume', 'ls', '-f', 'label=tier=web', '-q'])).stdout).toBe('');

    const w = await cli(env, [
      'run',
      '--rm',
      '-v',
      'pgdata:/data',
      'busybox',
      'sh',
      '-c',
      'echo kept > /data/f',
    ]);
    expect(w.code).toBe(0);
    // First use creates a volume that was not there.
    const r = await cli(env, [
      'run',
      '--rm',
      '-v',
      'pgdata:/data:ro',
      '--mount',
      'type=volume,source=fresh,target=/fresh',
      'busybox',
      'sh',
      '-c',
      'cat /data/f; touch /data/g 2>/dev/null || echo ro; ls -A /fresh | wc -l',
    ]);
    expect(r).toMatchObject({ code: 0, stdout: 'kept\nro\n0\n' });
    expect((await cli(env, ['volume', 'ls', '-q'])).stdout).toBe('fresh\npgdata\n');
  });

  it('refuses to remove a volume a container uses, and bad names and mounts', async () => {
    const id = await env.rt.create({ image: 'busybox', binds: ['used:/u'], cmd: ['true'] });
    const rm = await cli(env, ['volume', 'rm', 'used']);
    expect(rm.code).toBe(125);
    expect(rm.stderr).toBe(`Error: remove used: volume is in use - [${id}]\n`);
    expect(existsSync(join(env.dataRoot, 'volumes', 'used', '_data'))).toBe(true);
    await env.rt.remove(id);
    expect(await cli(env, ['volume', 'rm', 'used'])).toMatchObject({ code: 0, stdout: 'used\n' });

    const missing = await cli(env, ['volume', 'rm', 'nope']);
    expect(missing).toMatchObject({ code: 125, stderr: 'Error: No such volume: nope\n' });
    expect((await cli(env, ['volume', 'rm', '-f', 'nope'])).code).toBe(0);
    expect((await cli(env, ['volume', 'create', 'bad$name'])).stderr).toContain(
      'includes invalid characters for a local volume name',
    );
    const bind = await cli(env, [
      'run',
      '--mount',
      `type=bind,source=${join(env.work, 'absent')},target=/x`,
      'busybox',
      'true',
    ]);
    expect(bind.code).toBe(125);
    expect(bind.stderr).toContain('bind source path does not exist');
    expect((await env.rt.list({ all: true })).length).toBe(0);
  });

  it('tmpfs mounts with size, mode and read-only', async () => {
    const r = await runToEnd({
      image: 'busybox',
      mounts: [
        { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 2 * 1024 * 1024, Mode: 0o1770 } },
        { Type: 'tmpfs', Target: '/r', ReadOnly: true },
      ],
      cmd: [
        'sh',
        '-c',
        'stat -c %a /t; grep " /t " /proc/mounts | grep -o "size=[0-9a-z]*"; touch /r/x 2>/dev/null || echo ro',
      ],
    });
    expect(r).toMatchObject({ code: 0, out: '1770\nsize=2048k\nro\n' });
  });

  it('secret files live on a tmpfs of the container, with owner and mode, gone with it', async () => {
    const id = await env.rt.create({
      image: 'busybox',
      cmd: ['sleep', '30'],
      files: [
        {
          target: '/run/secrets/pw',
          data: Buffer.from('s3cret'),
          uid: 7,
          gid: 8,
          mode: 0o400,
          inMemory: true,
        },
        {
          target: '/etc/app.conf',
          data: Buffer.from('a=1\n'),
          uid: 0,
          gid: 0,
          mode: 0o444,
          inMemory: false,
        },
      ],
    });
    const secrets = join(env.dataRoot, 'containers', id, 'secrets');
    expect(mountsUnder(env.work)).toContain(secrets);
    await env.rt.start(id);
    const out = await cli(env, [
      'exec',
      id,
      'sh',
      '-c',
      'cat /run/secrets/pw; echo; stat -c "%a %u %g" /run/secrets/pw /etc/app.conf; echo x > /run/secrets/pw 2>/dev/null || echo ro',
    ]);
    expect(out.stdout).toBe('s3cret\n400 7 8\n444 0 0\nro\n');
    expect(readFileSync(join(env.dataRoot, 'containers', id, 'configs', '1'), 'utf8')).toBe(
      'a=1\n',
    );
    await env.rt.remove(id, { force: true });
    expect(mountsUnder(env.work)).not.toContain(secrets);
    expect(existsSync(join(env.dataRoot, 'containers', id))).toBe(false);

    await expect(
      env.rt.create({
        image: 'busybox',
        files: [
          { target: 'rel', data: Buffer.from(''), uid: 0, gid: 0, mode: 0o400, inMemory: true },
        ],
      }),
    ).rejects.toThrow('invalid file target "rel": must be absolute');
    expect(mountsUnder(env.work)).toEqual([]);
  });
});
