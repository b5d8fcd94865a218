import { createHmac } from 'node:crypto';
import {
  ErrorCode,
  fromWire,
  notFound,
  specErrorsToError,
  TsswarmError,
  validateConfigSpec,
  validateSecretSpec,
  type Config,
  type ConfigSpec,
  type Secret,
  type SecretSpec,
  type Service,
  type ServiceSpec,
  resolveRef,
} from '../../api/index.js';
import { seal, unseal } from '../secrets/index.js';
import type { MemoryStore, ReadTx, TableReader, UpdateResult } from '../store/index.js';

type Kind = 'secret' | 'config';

/**
 * Secrets and configs (swarmkit's controlapi secret.go and config.go). A secret's bytes are
 * sealed with the managers' cluster key before the create is proposed, so raft, its snapshots
 * and every manager's store hold only ciphertext; reads return neither the data nor the seal.
 */
export class FileObjectsApi {
  private key: Buffer | undefined;

  constructor(private readonly store: MemoryStore) {}

  /** The cluster key of this manager (see manager/secrets). */
  setKey(key: Buffer): void {
    this.key = key;
  }

  private keyOrThrow(): Buffer {
    if (!this.key) throw new TsswarmError(ErrorCode.Unavailable, 'the secret key is not loaded');
    return this.key;
  }

  // ---- secrets ----------------------------------------------------------------------------

  async createSecret(spec: SecretSpec): Promise<{ ID: string }> {
    const errors = validateSecretSpec(spec);
    if (errors.length > 0) throw specErrorsToError('secret', errors);
    if (spec.Driver !== undefined) {
      throw invalid(`secret ${spec.Name}: external secret drivers are not supported`);
    }
    const key = this.keyOrThrow();
    const { Data, ...rest } = spec;
    const res = await this.store.update((tx) => {
      if (tx.secrets.find({ by: 'name', name: spec.Name }).length > 0) {
        throw new TsswarmError(ErrorCode.Conflict, `secret ${spec.Name} already exists`);
      }
      const id = tx.newId();
      const sealed = seal(key, Buffer.from(Data ?? '', 'base64'), id);
      tx.secrets.create({ ID: id, Spec: rest, Sealed: sealed });
      return id;
    });
    return { ID: unwrap(res) };
  }

  listSecrets(): Secret[] {
    return this.store.view((tx) => tx.secrets.find({ by: 'all' }).map(publicSecret));
  }

  getSecret(ref: string): Secret {
    return publicSecret(this.store.view((tx) => resolveSecret(tx, ref)));
  }

  async removeSecret(ref: string): Promise<void> {
    const res = await this.store.update((tx) => {
      const s = resolveSecret(tx, ref);
      const users = tx.services
        .find({ by: 'all' })
        .filter((svc) =>
          (svc.Spec.TaskTemplate.ContainerSpec.Secrets ?? []).some((r) => r.SecretID === s.ID),
        );
      if (users.length > 0) throw inUseBy('secret', s.Spec.Name, users);
      tx.secrets.delete(s.ID);
    });
    unwrap(res);
  }

  /**
   * A keyed digest of secret bytes (HMAC-SHA256 under the cluster key): what a stack deploy
   * compares to reuse an unchanged version. Without the key it says nothing about the bytes,
   * unlike a plain hash of a short password would.
   */
  digestSecret(data: string): { Digest: string } {
    const key = this.keyOrThrow();
    const mac = createHmac('sha256', key).update('tsswarm secret digest\0');
    return { Digest: mac.update(Buffer.from(data, 'base64')).digest('hex') };
  }

  /** The secret's bytes, for the dispatcher to deliver to a node that runs a task using it. */
  openSecret(s: Secret): Buffer {
    if (s.Sealed === undefined) return Buffer.alloc(0);
    return unseal(this.keyOrThrow(), s.Sealed, s.ID);
  }

  // ---- configs ----------------------------------------------------------------------------

  async createConfig(spec: ConfigSpec): Promise<{ ID: string }> {
    const errors = validateConfigSpec(spec);
    if (errors.length > 0) throw specErrorsToError('config', errors);
    const res = await this.store.update((tx) => {
      if (tx.configs.find({ by: 'name', name: spec.Name }).length > 0) {
        throw new TsswarmError(ErrorCode.Conflict, `config ${spec.Name} already exists`);
      }
      const id = tx.newId();
      tx.configs.create({ ID: id, Spec: spec });
      return id;
    });
    return { ID: unwrap(res) };
  }

  listConfigs(): Config[] {
    return this.store.view((tx) => tx.configs.find({ by: 'all' }));
  }

  getConfig(ref: string): Config {
    return this.store.view((tx) => resolveConfig(tx, ref));
  }

  async removeConfig(ref: string): Promise<void> {
    const res = await this.store.update((tx) => {
      const c = resolveConfig(tx, ref);
      const users = tx.services
        .find({ by: 'all' })
        .filter((svc) =>
          (svc.Spec.TaskTemplate.ContainerSpec.Configs ?? []).some((r) => r.ConfigID === c.ID),
        );
      if (users.length > 0) throw inUseBy('config', c.Spec.Name, users);
      tx.configs.delete(c.ID);
    });
    unwrap(res);
  }

  // ---- service references -----------------------------------------------------------------

  /**
   * The spec with each secret and config reference pointing at an existing object: by ID when
   * one is given, else by name (what docker's CLI resolves before it sends the spec).
   */
  resolveReferences(spec: ServiceSpec): ServiceSpec {
    const c = spec.TaskTemplate?.ContainerSpec;
    if (!c || ((c.Secrets?.length ?? 0) === 0 && (c.Configs?.length ?? 0) === 0)) return spec;
    return this.store.view((tx) => {
      const secrets = (c.Secrets ?? []).map((r) => {
        const s = findRef(tx, 'secret', r.SecretID, r.SecretName);
        return { ...r, SecretID: s.ID, SecretName: s.Spec.Name };
      });
      const configs = (c.Configs ?? []).map((r) => {
        const s = findRef(tx, 'config', r.ConfigID, r.ConfigName);
        return { ...r, ConfigID: s.ID, ConfigName: s.Spec.Name };
      });
      return {
        ...spec,
        TaskTemplate: {
          ...spec.TaskTemplate,
          ContainerSpec: {
            ...c,
            ...(c.Secrets ? { Secrets: secrets } : {}),
            ...(c.Configs ? { Configs: configs } : {}),
          },
        },
      };
    });
  }
}

function publicSecret(s: Secret): Secret {
  const { Sealed: _sealed, ...rest } = s;
  const { Data: _data, ...spec } = s.Spec;
  return { ...rest, Spec: spec };
}

function invalid(message: string): TsswarmError {
  return new TsswarmError(ErrorCode.InvalidArgument, message);
}

function inUseBy(kind: Kind, name: string, users: Service[]): TsswarmError {
  const names = users.map((u) => u.Spec.Name).join(', ');
  return new TsswarmError(
    ErrorCode.InUse,
    `${kind} '${name}' is in use by the following service${users.length > 1 ? 's' : ''}: ${names}`,
  );
}

function findRef(
  tx: ReadTx,
  kind: Kind,
  id: string | undefined,
  name: string | undefined,
): Secret | Config {
  const table = kind === 'secret' ? tx.secrets : tx.configs;
  if (id) {
    const byId = table.get(id);
    if (byId) return byId;
  }
  const byName = name ? table.find({ by: 'name', name }) : [];
  if (byName[0]) return byName[0];
  throw notFound(`${kind} not found: ${name || id || '(no name)'}`);
}

function resolveIn<T extends Secret | Config>(table: TableReader<T>, ref: string, kind: Kind): T {
  return resolveRef(table, ref, kind, `No such ${kind}: ${ref}`);
}

function resolveSecret(tx: ReadTx, ref: string): Secret {
  return resolveIn<Secret>(tx.secrets, ref, 'secret');
}

function resolveConfig(tx: ReadTx, ref: string): Config {
  return resolveIn<Config>(tx.configs, ref, 'config');
}

function unwrap<R>(res: UpdateResult<R>): R {
  if (!res.ok) throw fromWire(res.error);
  return res.value;
}
