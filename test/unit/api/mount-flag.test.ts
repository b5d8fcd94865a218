import { describe, expect, it } from 'vitest';
import {
  checkMount,
  parseFileRefFlag,
  parseMountFlag,
  validateServiceSpec,
} from '../../../src/api/index.js';

describe('parseMountFlag (docker --mount)', () => {
  it('reads volume, bind and tmpfs mounts with their options', () => {
    expect(parseMountFlag('source=data,target=/data')).toEqual({
      Type: 'volume',
      Source: 'data',
      Target: '/data',
    });
    expect(
      parseMountFlag('type=volume,src=data,dst=/d,readonly,volume-label=a=b,volume-label=c'),
    ).toEqual({
      Type: 'volume',
      Source: 'data',
      Target: '/d',
      ReadOnly: true,
      VolumeOptions: { Labels: { a: 'b', c: '' } },
    });
    expect(
      parseMountFlag('type=bind,source=/etc,target=/e,ro=true,bind-propagation=rslave'),
    ).toEqual({
      Type: 'bind',
      Source: '/etc',
      Target: '/e',
      ReadOnly: true,
      BindOptions: { Propagation: 'rslave' },
    });
    expect(parseMountFlag('type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770')).toEqual({
      Type: 'tmpfs',
      Target: '/t',
      TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 },
    });
    expect(parseMountFlag('type=volume,target=/anon')).toEqual({ Type: 'volume', Target: '/anon' });
  });

  it('refuses bad input, naming the key and the flag value', () => {
    const bad: [string, string][] = [
      ['type=nfs,target=/x', 'invalid mount type "nfs" in --mount type=nfs,target=/x'],
      ['source=data', 'target is required in --mount source=data'],
      ['target=/x,colour=red', "unexpected key 'colour'"],
      [
        'target=/x,source=',
        "invalid field 'source=' in --mount target=/x,source=: must be a key=value pair",
      ],
      ['type=bind,target=/x', 'field Source must not be empty'],
      ['type=bind,source=rel,target=/x', 'invalid source "rel": must be an absolute path'],
      ['target=rel', 'invalid mount target "rel": must be absolute'],
      ['type=tmpfs,target=/t,tmpfs-mode=999', 'invalid mode "999"'],
      ['type=tmpfs,target=/t,tmpfs-size=lots', 'invalid value "lots" for tmpfs-size'],
      [
        'type=bind,source=/a,target=/t,tmpfs-size=1m',
        "cannot mix 'tmpfs-*' options with mount type 'bind'",
      ],
      [
        'type=tmpfs,target=/t,volume-label=a=b',
        "cannot mix 'volume-*' options with mount type 'tmpfs'",
      ],
      ['source=a b,target=/t', '"a b" includes invalid characters for a local volume name'],
      ['target=/x,readonly=maybe', 'invalid value "maybe" for readonly'],
    ];
    for (const [value, message] of bad) {
      expect(() => parseMountFlag(value), value).toThrow(message);
    }
  });

  it('agrees with the service spec validation, which also checks file modes', () => {
    expect(checkMount({ Type: 'volume', Source: 'x', Target: 'rel' })).toContain(
      'must be absolute',
    );
    const errors = validateServiceSpec({
      Name: 's',
      Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'busybox',
          Mounts: [{ Type: 'tmpfs', Source: '/x', Target: '/t' }],
          Secrets: [
            {
              SecretID: '',
              SecretName: 'a',
              File: { Name: 'a', UID: '0', GID: '0', Mode: 0o1777 },
            },
          ],
        },
      },
    });
    expect(errors).toEqual([
      {
        field: 'TaskTemplate.ContainerSpec.Mounts[0].Source',
        message: 'a tmpfs mount takes no source',
      },
      {
        field: 'TaskTemplate.ContainerSpec.Secrets[0].File.Mode',
        message: 'invalid file mode 1023: must be from 0 to 0777',
      },
    ]);
  });
});

describe('parseFileRefFlag (--secret, --config)', () => {
  it('takes a bare name or the long syntax, with docker defaults', () => {
    expect(parseFileRefFlag('--secret', 'db_pw')).toEqual({
      source: 'db_pw',
      target: 'db_pw',
      uid: '0',
      gid: '0',
      mode: 0o444,
    });
    expect(
      parseFileRefFlag('--config', 'source=conf,target=/etc/app.conf,uid=100,gid=101,mode=0440'),
    ).toEqual({ source: 'conf', target: '/etc/app.conf', uid: '100', gid: '101', mode: 0o440 });
  });

  it('refuses a bad mode, uid or key, and a missing source', () => {
    expect(() => parseFileRefFlag('--secret', 'source=a,mode=0999')).toThrow(
      'invalid mode "0999" for --secret source=a,mode=0999',
    );
    expect(() => parseFileRefFlag('--secret', 'source=a,mode=1777')).toThrow('at most 0777');
    expect(() => parseFileRefFlag('--secret', 'source=a,uid=root')).toThrow('invalid uid "root"');
    expect(() => parseFileRefFlag('--config', 'target=/x')).toThrow('source is required');
    expect(() => parseFileRefFlag('--config', 'source=a,colour=red')).toThrow(
      "invalid field key 'colour'",
    );
  });
});
