import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ServiceSpec, Task } from '../../../../src/api/index.js';
import { ControlApi } from '../../../../src/manager/controlapi/index.js';
import { AssignmentStream, type FileLoader } from '../../../../src/manager/dispatcher/index.js';
import { generateSecretKey } from '../../../../src/manager/secrets/index.js';
import { InMemoryProposer, MemoryStore } from '../../../../src/manager/store/index.js';
import { AssignmentTracker } from '../../../../src/worker/index.js';

const clear = 'correct horse battery staple';
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

function setup() {
  const store = new MemoryStore();
  const proposer = new InMemoryProposer(store);
  store.setProposer(proposer);
  const control = new ControlApi(store);
  control.files.setKey(generateSecretKey());
  return { store, proposer, control };
}

function serviceWith(secret: string, config?: string): ServiceSpec {
  return {
    Name: 'web',
    Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'busybox',
        Secrets: [
          {
            SecretID: '',
            SecretName: secret,
            File: { Name: 'pw', UID: '0', GID: '0', Mode: 0o400 },
          },
        ],
        ...(config
          ? {
              Configs: [
                {
                  ConfigID: '',
                  ConfigName: config,
                  File: { Name: '/c', UID: '0', GID: '0', Mode: 0o444 },
                },
              ],
            }
          : {}),
      },
    },
  };
}

describe('secrets and configs in the control API', () => {
  it('seals a secret before raft: neither the log, the snapshot nor reads hold it in clear', async () => {
    const { store, proposer, control } = setup();
    const { ID } = await control.files.createSecret({ Name: 'pw', Data: b64(clear) });
    const logText = proposer.log.map((e) => Buffer.from(e.data).toString('latin1')).join('\n');
    const snapshot = Buffer.from(store.snapshot()).toString('latin1');
    for (const text of [logText, snapshot]) {
      expect(text).not.toContain(clear);
      expect(text).not.toContain(b64(clear));
      expect(text).toContain('aes-256-gcm:v1:');
    }
    const got = control.files.getSecret('pw');
    expect(got.ID).toBe(ID);
    expect(got.Spec).toEqual({ Name: 'pw' });
    expect('Sealed' in got).toBe(false);
    expect(JSON.stringify(control.files.listSecrets())).not.toContain('aes-256-gcm');
    const stored = store.view((tx) => tx.secrets.get(ID));
    expect(control.files.openSecret(stored!).toString()).toBe(clear);
  });

  it('digests secret bytes under the cluster key, so the digest says nothing without it', () => {
    const a = setup().control;
    const b = setup().control;
    const d = a.files.digestSecret(b64(clear)).Digest;
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(a.files.digestSecret(b64(clear)).Digest).toBe(d);
    expect(a.files.digestSecret(b64('other')).Digest).not.toBe(d);
    expect(b.files.digestSecret(b64(clear)).Digest).not.toBe(d);
    expect(d).not.toBe(createHash('sha256').update(clear).digest('hex'));
  });

  it('refuses a taken name, an oversized secret, a bad name and empty input, changing nothing', async () => {
    const { control, proposer } = setup();
    await control.files.createSecret({ Name: 'pw', Data: b64('a') });
    const entries = proposer.log.length;
    await expect(control.files.createSecret({ Name: 'pw', Data: b64('b') })).rejects.toThrow(
      'secret pw already exists',
    );
    await expect(
      control.files.createSecret({ Name: 'big', Data: b64(Buffer.alloc(500 * 1024 + 1)) }),
    ).rejects.toThrow('512001 bytes exceeds the limit of 512000');
    await expect(control.files.createSecret({ Name: '-bad', Data: b64('x') })).rejects.toThrow(
      'invalid secret name "-bad"',
    );
    await expect(control.files.createConfig({ Name: 'c' })).rejects.toThrow('a config needs data');
    expect(proposer.log.length).toBe(entries);
    expect(control.files.listSecrets()).toHaveLength(1);
  });

  it('resolves service references by name and refuses removing what a service uses', async () => {
    const { control } = setup();
    const s = await control.files.createSecret({ Name: 'pw', Data: b64('a') });
    const c = await control.files.createConfig({ Name: 'conf', Data: b64('x=1') });
    await expect(control.createService(serviceWith('nope'))).rejects.toThrow(
      'secret not found: nope',
    );
    await control.createService(serviceWith('pw', 'conf'));
    const spec = control.getService('web').Spec.TaskTemplate.ContainerSpec;
    expect(spec.Secrets?.[0]?.SecretID).toBe(s.ID);
    expect(spec.Configs?.[0]?.ConfigID).toBe(c.ID);
    await expect(control.files.removeSecret('pw')).rejects.toThrow(
      "secret 'pw' is in use by the following service: web",
    );
    await expect(control.files.removeConfig(c.ID)).rejects.toThrow(
      "config 'conf' is in use by the following service: web",
    );
    await control.removeService('web');
    await control.files.removeSecret('pw');
    await control.files.removeConfig('conf');
    expect(() => control.files.getSecret('pw')).toThrow('No such secret: pw');
  });
});

function task(id: string, secrets: string[], configs: string[] = []): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    ServiceID: 's1',
    Slot: 1,
    NodeID: 'n1',
    Spec: {
      ContainerSpec: {
        Image: 'busybox',
        Secrets: secrets.map((s) => ({
          SecretID: s,
          SecretName: s,
          File: { Name: s, UID: '0', GID: '0', Mode: 0o444 },
        })),
        Configs: configs.map((c) => ({
          ConfigID: c,
          ConfigName: c,
          File: { Name: c, UID: '0', GID: '0', Mode: 0o444 },
        })),
      },
    },
    Status: { Timestamp: '2026-01-01T00:00:00Z', State: 'assigned', Message: '' },
    DesiredState: 'running',
  };
}

describe('delivery of secrets and configs in the assignment stream', () => {
  const load: FileLoader = (kind, id) => ({ ID: id, Name: `${kind}-${id}`, Data: b64(id) });

  it('sends a node only what its tasks use, once, and drops what no task uses any more', () => {
    const stream = new AssignmentStream('sess');
    const tracker = new AssignmentTracker();
    tracker.reset('sess');
    const first = stream.complete([task('t1', ['s1'], ['c1'])], load);
    expect(first).toMatchObject({
      secrets: [{ ID: 's1', Name: 'secret-s1' }],
      configs: [{ ID: 'c1', Name: 'config-c1' }],
    });
    let r = tracker.apply(first);
    expect(r.type === 'apply' && [...r.secrets.keys()]).toEqual(['s1']);

    // Another task using s1 and s2: only s2 travels.
    const second = stream.diff([task('t1', ['s1'], ['c1']), task('t2', ['s1', 's2'])], load);
    expect(second?.secrets?.map((s) => s.ID)).toEqual(['s2']);
    r = tracker.apply(second!);
    expect(r.type === 'apply' && [...r.secrets.keys()].sort()).toEqual(['s1', 's2']);

    // t1 goes: c1 is dropped, s1 stays for t2.
    const third = stream.diff([task('t2', ['s1', 's2'])], load);
    expect(third).toMatchObject({ removed: ['t1'], removedConfigs: ['c1'] });
    expect(third?.removedSecrets).toBeUndefined();
    r = tracker.apply(third!);
    expect(r.type === 'apply' && [...r.configs.keys()]).toEqual([]);

    // Nothing left: every secret goes.
    const last = stream.diff([], load);
    expect(last?.removedSecrets?.sort()).toEqual(['s1', 's2']);
    r = tracker.apply(last!);
    expect(r.type === 'apply' && r.secrets.size).toBe(0);
  });
});
