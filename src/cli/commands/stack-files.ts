// The secrets and configs of a stack deploy: created from `file:` (or environment/content) as
// `<stack>_<name>`, `external:` ones checked, and a changed file becoming a new version named
// `<stack>_<name>-<hash>` that the services roll onto (what users asked for in moby/moby#35803).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config, Secret, ServiceSpec } from '../../api/index.js';
import { invalidArgument, notFound } from '../../api/index.js';
import type { StackFileObject } from '../../compose/index.js';
import type { ApiClient } from '../client.js';

const namespaceLabel = 'com.docker.stack.namespace';
/** The name a stack object has in the compose file, the same for all its versions. */
const baseNameLabel = 'com.tsswarm.stack.object';
/**
 * Which content a version holds, compared to reuse an unchanged version: for a config sha256
 * over its name and bytes; for a secret, whose bytes are never read back, an HMAC the managers
 * compute under the cluster key (`POST /secrets/digest`), so the label gives nothing away.
 */
const digestLabel = 'com.tsswarm.stack.digest';

type Kind = 'secret' | 'config';
type FileObject = Secret | Config;

interface Planned {
  kind: Kind;
  object: StackFileObject;
  data?: Buffer;
  digest?: string;
}

/** The name each compose-declared object ends up with, by kind and declared name. */
export type FileNames = Map<string, { name: string; id: string }>;

async function readSource(kind: Kind, o: StackFileObject): Promise<Buffer> {
  const s = o.source;
  if (!s) throw invalidArgument(`${kind} ${o.key}: no file, environment or content`);
  if ('file' in s) {
    try {
      return await readFile(s.file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw invalidArgument(
        `${kind} ${o.key}: cannot read ${s.file}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      );
    }
  }
  if ('environment' in s) {
    const v = process.env[s.environment];
    if (v === undefined) {
      throw invalidArgument(`${kind} ${o.key}: environment variable ${s.environment} is not set`);
    }
    return Buffer.from(v);
  }
  return Buffer.from(s.content);
}

function digestOf(name: string, data: Buffer): string {
  return createHash('sha256').update(name).update('\0').update(data).digest('hex');
}

/**
 * Creates what the stack needs (nothing when a file is missing or an external object absent:
 * all is read and checked first) and points the services' references at the versions in use.
 */
export async function deployStackFiles(
  api: ApiClient,
  stack: string,
  secrets: readonly StackFileObject[],
  configs: readonly StackFileObject[],
  services: ServiceSpec[],
  out: NodeJS.WritableStream,
): Promise<ServiceSpec[]> {
  const existing = {
    secret: await api.get<Secret[]>('/secrets'),
    config: await api.get<Config[]>('/configs'),
  };
  const plan: Planned[] = [];
  for (const [kind, list] of [
    ['secret', secrets],
    ['config', configs],
  ] as const) {
    for (const o of list) {
      if (o.external) {
        if (!existing[kind].some((x) => x.Spec.Name === o.name)) {
          throw notFound(`${kind} ${o.name} is declared external but does not exist`);
        }
        plan.push({ kind, object: o });
        continue;
      }
      const data = await readSource(kind, o);
      if (kind === 'secret' && data.length > 500 * 1024) {
        throw invalidArgument(`secret ${o.key}: ${data.length} bytes exceeds the limit of 512000`);
      }
      const digest =
        kind === 'secret'
          ? (
              await api.post<{ Digest: string }>('/secrets/digest', {
                Data: data.toString('base64'),
              })
            ).Digest
          : digestOf(o.name, data);
      plan.push({ kind, object: o, data, digest });
    }
  }
  const names: FileNames = new Map();
  for (const p of plan) {
    const key = `${p.kind}:${p.object.name}`;
    const list: FileObject[] = existing[p.kind];
    if (p.digest === undefined || p.data === undefined) {
      const found = list.find((x) => x.Spec.Name === p.object.name);
      if (found) names.set(key, { name: found.Spec.Name, id: found.ID });
      continue;
    }
    const same = list.find(
      (x) =>
        x.Spec.Labels?.[namespaceLabel] === stack &&
        x.Spec.Labels[baseNameLabel] === p.object.name &&
        x.Spec.Labels[digestLabel] === p.digest,
    );
    if (same) {
      names.set(key, { name: same.Spec.Name, id: same.ID });
      continue;
    }
    const taken = list.some((x) => x.Spec.Name === p.object.name);
    const name = taken ? `${p.object.name}-${p.digest.slice(0, 10)}` : p.object.name;
    out.write(`Creating ${p.kind} ${name}\n`);
    const { ID } = await api.post<{ ID: string }>(`/${p.kind}s/create`, {
      Name: name,
      Labels: {
        ...(p.object.labels ?? {}),
        [namespaceLabel]: stack,
        [baseNameLabel]: p.object.name,
        [digestLabel]: p.digest,
      },
      Data: p.data.toString('base64'),
    });
    names.set(key, { name, id: ID });
  }
  return services.map((s) => withVersions(s, names));
}

function withVersions(spec: ServiceSpec, names: FileNames): ServiceSpec {
  const c = spec.TaskTemplate.ContainerSpec;
  if (!c.Secrets && !c.Configs) return spec;
  const pick = (kind: Kind, name: string) => names.get(`${kind}:${name}`) ?? { name, id: '' };
  return {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: {
        ...c,
        ...(c.Secrets
          ? {
              Secrets: c.Secrets.map((r) => {
                const v = pick('secret', r.SecretName);
                return { ...r, SecretName: v.name, SecretID: v.id };
              }),
            }
          : {}),
        ...(c.Configs
          ? {
              Configs: c.Configs.map((r) => {
                const v = pick('config', r.ConfigName);
                return { ...r, ConfigName: v.name, ConfigID: v.id };
              }),
            }
          : {}),
      },
    },
  };
}

/**
 * Removes the stack's secrets and configs that no service uses any more (nor would use after a
 * rollback): the versions redeploys replaced, or all of them after `stack rm`. One in use
 * elsewhere stays.
 */
export async function pruneStackFiles(
  api: ApiClient,
  stack: string,
  out: NodeJS.WritableStream,
  opts: { all: boolean },
): Promise<number> {
  let removed = 0;
  const services = await api.get<{ Spec: ServiceSpec; PreviousSpec?: ServiceSpec }[]>('/services');
  const used = new Set<string>();
  // The previous spec counts too: a rollback returns the service to the version it names.
  for (const spec of services.flatMap((s) =>
    s.PreviousSpec ? [s.Spec, s.PreviousSpec] : [s.Spec],
  )) {
    const c = spec.TaskTemplate.ContainerSpec;
    for (const r of c.Secrets ?? []) used.add(r.SecretID);
    for (const r of c.Configs ?? []) used.add(r.ConfigID);
  }
  for (const kind of ['secret', 'config'] as const) {
    const list = await api.get<FileObject[]>(`/${kind}s`);
    for (const x of list) {
      if (x.Spec.Labels?.[namespaceLabel] !== stack || used.has(x.ID)) continue;
      // A redeploy keeps versions it did not create (external or user-made are unlabelled).
      if (!opts.all && x.Spec.Labels[baseNameLabel] === undefined) continue;
      out.write(`Removing ${kind} ${x.Spec.Name}\n`);
      await api.delete(`/${kind}s/${x.ID}`);
      removed++;
    }
  }
  return removed;
}
