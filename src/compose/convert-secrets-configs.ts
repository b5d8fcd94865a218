import type { ConfigReference, Driver, Labels, SecretReference } from '../api/index.js';
import { compact, num, str } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj, type Obj } from './normalize.js';

/** Where a secret's or config's bytes come from; the deployer reads them. */
export type StackObjectSource = { file: string } | { environment: string } | { content: string };

export interface StackFileObject {
  key: string;
  name: string;
  external: boolean;
  labels?: Labels;
  /** Absent for external objects. */
  source?: StackObjectSource;
  templating?: Driver;
}

export function fileRefs(
  c: Converter,
  path: string[],
  svc: Obj,
  kind: 'secrets' | 'configs',
): (SecretReference | ConfigReference)[] | undefined {
  const list = Array.isArray(svc[kind]) ? svc[kind] : undefined;
  if (!list) return undefined;
  const out: (SecretReference | ConfigReference)[] = [];
  list.forEach((raw, i) => {
    const r = isObj(raw) ? raw : {};
    const source = str(r['source']) ?? '';
    const name = c.resolvedName(kind, source);
    if (name === undefined) {
      c.fail(
        [...path, kind, i],
        `service uses undefined ${kind.slice(0, -1)} ${JSON.stringify(source)}: declare it under the top-level ${kind}`,
      );
      return;
    }
    const file = {
      Name: str(r['target']) ?? (kind === 'configs' ? `/${source}` : source),
      UID: r['uid'] === undefined ? '0' : String(r['uid']),
      GID: r['gid'] === undefined ? '0' : String(r['gid']),
      Mode: num(r['mode']) ?? 0o444,
    };
    out.push(
      kind === 'secrets'
        ? { File: file, SecretID: '', SecretName: name }
        : { File: file, ConfigID: '', ConfigName: name },
    );
  });
  return out;
}

export function convertFileObjects(c: Converter, kind: 'secrets' | 'configs'): StackFileObject[] {
  const out: StackFileObject[] = [];
  for (const [key, raw] of Object.entries(c.section(kind)).sort(([a], [b]) => a.localeCompare(b))) {
    const v = isObj(raw) ? raw : {};
    const external = v['external'] === true;
    const name = c.resolvedName(kind, key) ?? key;
    if (external) {
      out.push({ key, name, external });
      continue;
    }
    let source: StackObjectSource | undefined;
    if (typeof v['file'] === 'string') source = { file: v['file'] };
    else if (typeof v['environment'] === 'string') source = { environment: v['environment'] };
    else if (typeof v['content'] === 'string') source = { content: v['content'] };
    if (!source) {
      c.fail(
        [kind, key],
        `${kind.slice(0, -1)} needs file, environment${kind === 'configs' ? ', content' : ''} or external: true`,
      );
      continue;
    }
    if ('driver' in v)
      c.fail([kind, key, 'driver'], `${kind.slice(0, -1)} drivers are not supported by tsswarm`);
    const templating = str(v['template_driver']);
    out.push(
      compact({
        key,
        name,
        external,
        labels: c.labels(v['labels']),
        source,
        templating: templating ? { Name: templating } : undefined,
      }),
    );
  }
  return out;
}
