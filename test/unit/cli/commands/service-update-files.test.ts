import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../../../../src/api/index.js';
import { applyUpdateFlags, type UpdateFlags } from '../../../../src/cli/commands/service-update.js';

const none: UpdateFlags = {
  envAdd: [],
  envRm: [],
  constraintAdd: [],
  constraintRm: [],
  labelAdd: [],
  labelRm: [],
  containerLabelAdd: [],
  containerLabelRm: [],
  mountAdd: [],
  mountRm: [],
  secretAdd: [],
  secretRm: [],
  configAdd: [],
  configRm: [],
};

const file = (Name: string, Mode = 0o444) => ({ Name, UID: '0', GID: '0', Mode });

const spec: ServiceSpec = {
  Name: 'web',
  Mode: { Replicated: { Replicas: 1 } },
  TaskTemplate: {
    ContainerSpec: {
      Image: 'busybox',
      Mounts: [
        { Type: 'volume', Source: 'data', Target: '/data' },
        { Type: 'tmpfs', Target: '/scratch' },
      ],
      Secrets: [
        { File: file('db_pw'), SecretID: 's1', SecretName: 'db_pw' },
        { File: file('api'), SecretID: 's2', SecretName: 'api_v1' },
      ],
      Configs: [{ File: file('/etc/app.conf'), ConfigID: 'c1', ConfigName: 'app_v1' }],
    },
  },
};

const update = (f: Partial<UpdateFlags>) =>
  applyUpdateFlags(spec, { ...none, ...f }).TaskTemplate.ContainerSpec;

describe('service update --secret-add/--secret-rm', () => {
  it('adds a reference by name, for the manager to resolve', () => {
    expect(update({ secretAdd: ['token'] }).Secrets).toEqual([
      ...(spec.TaskTemplate.ContainerSpec.Secrets ?? []),
      { File: file('token'), SecretID: '', SecretName: 'token' },
    ]);
    expect(
      update({ secretAdd: ['source=token,target=tok,uid=10,gid=20,mode=0400'] }).Secrets?.at(-1),
    ).toEqual({
      File: { Name: 'tok', UID: '10', GID: '20', Mode: 0o400 },
      SecretID: '',
      SecretName: 'token',
    });
  });

  it('removes by secret name or by target, and ignores a name it does not hold', () => {
    expect(update({ secretRm: ['api_v1'] }).Secrets?.map((s) => s.SecretName)).toEqual(['db_pw']);
    expect(update({ secretRm: ['api'] }).Secrets?.map((s) => s.SecretName)).toEqual(['db_pw']);
    expect(update({ secretRm: ['nope'] }).Secrets).toEqual(spec.TaskTemplate.ContainerSpec.Secrets);
    const c = update({ secretRm: ['db_pw', 'api'] });
    expect(c.Secrets).toBeUndefined();
    expect(c.Mounts).toEqual(spec.TaskTemplate.ContainerSpec.Mounts);
  });

  it('replaces the reference with the same target (a new version of a file)', () => {
    for (const f of [
      { secretAdd: ['source=api_v2,target=api'] },
      { secretRm: ['api_v1'], secretAdd: ['source=api_v2,target=api'] },
    ]) {
      expect(update(f).Secrets).toEqual([
        { File: file('db_pw'), SecretID: 's1', SecretName: 'db_pw' },
        { File: file('api'), SecretID: '', SecretName: 'api_v2' },
      ]);
    }
  });

  it('refuses bad values and two additions with one target, naming them', () => {
    expect(() => update({ secretAdd: ['source=a,mode=0999'] })).toThrow(
      /invalid mode "0999" for --secret source=a,mode=0999/,
    );
    expect(() => update({ secretAdd: ['target=x'] })).toThrow('source is required in --secret');
    expect(() => update({ secretAdd: ['source=a,target=t', 'source=b,target=t'] })).toThrow(
      '--secret-add: two secrets with the target t',
    );
  });
});

describe('service update --config-add/--config-rm', () => {
  it('adds, replaces by target and removes by name or target', () => {
    expect(update({ configAdd: ['source=app_v2,target=/etc/app.conf'] }).Configs).toEqual([
      { File: file('/etc/app.conf'), ConfigID: '', ConfigName: 'app_v2' },
    ]);
    expect(update({ configRm: ['app_v1'] }).Configs).toBeUndefined();
    expect(update({ configRm: ['/etc/app.conf'] }).Configs).toBeUndefined();
    expect(() => update({ configAdd: ['source=a,bogus=1'] })).toThrow(
      "invalid field key 'bogus' in --config source=a,bogus=1",
    );
  });
});

describe('service update --mount-add/--mount-rm', () => {
  it('adds, replaces by target and removes by target or source', () => {
    expect(update({ mountAdd: ['type=volume,source=logs,target=/logs'] }).Mounts?.at(-1)).toEqual(
      expect.objectContaining({ Type: 'volume', Source: 'logs', Target: '/logs' }),
    );
    const replaced = update({ mountAdd: ['type=volume,source=data2,target=/data'] }).Mounts;
    expect(replaced?.map((m) => [m.Source, m.Target])).toEqual([
      [undefined, '/scratch'],
      ['data2', '/data'],
    ]);
    expect(update({ mountRm: ['/scratch'] }).Mounts?.map((m) => m.Target)).toEqual(['/data']);
    expect(update({ mountRm: ['data'] }).Mounts?.map((m) => m.Target)).toEqual(['/scratch']);
    expect(update({ mountRm: ['/data', '/scratch'] }).Mounts).toBeUndefined();
  });

  it('refuses a bad mount before anything is sent', () => {
    expect(() => update({ mountAdd: ['type=nfs,target=/x'] })).toThrow(/nfs/);
    expect(() =>
      update({ mountAdd: ['type=tmpfs,target=/t', 'type=volume,source=vv,target=/t'] }),
    ).toThrow('--mount-add: two mounts with the target /t');
  });

  it('leaves the spec alone when no file flag is given', () => {
    expect(update({})).toEqual(spec.TaskTemplate.ContainerSpec);
    const bare: ServiceSpec = {
      ...spec,
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Mounts: [] } },
    };
    expect(applyUpdateFlags(bare, none).TaskTemplate.ContainerSpec).toEqual({
      Image: 'busybox',
      Mounts: [],
    });
  });
});
