import type {
  ConfigReference,
  ContainerSpec,
  FileTarget,
  Mount,
  SecretReference,
} from '../../api/index.js';
import { invalidArgument, parseMountFlag } from '../../api/index.js';
import { configReference, fileTarget, secretReference } from './service-flags.js';

/** `service update --{mount,secret,config}-{add,rm}`, as docker's CLI names them. */
export interface FileUpdateFlags {
  mountAdd: string[];
  mountRm: string[];
  secretAdd: string[];
  secretRm: string[];
  configAdd: string[];
  configRm: string[];
}

/**
 * Removal first, by source name or target, then additions; an added reference replaces the
 * one with the same target (so `--secret-rm a --secret-add source=a2,target=a` and a bare
 * `--secret-add source=a2,target=a` both roll the file onto a new version). As in docker, a
 * name given to `-rm` that matches nothing is no error, so a script can be run twice.
 */
function updateRefs<R>(
  current: readonly R[] | undefined,
  add: readonly string[],
  rm: readonly string[],
  kind: 'secret' | 'config',
  names: (r: R) => { source: string; target: string },
  make: (source: string, file: FileTarget) => R,
): R[] {
  const flag = kind === 'secret' ? '--secret' : '--config';
  // Parse every added value before anything else: bad input is reported whatever else is wrong.
  const added = add.map((v) => fileTarget(flag, v));
  let out = [...(current ?? [])];
  const removed = new Set(rm);
  out = out.filter((r) => {
    const n = names(r);
    return !removed.has(n.source) && !removed.has(n.target);
  });
  const seen = new Set<string>();
  for (const [source, file] of added) {
    if (seen.has(file.Name)) {
      throw invalidArgument(`${flag}-add: two ${kind}s with the target ${file.Name}`);
    }
    seen.add(file.Name);
    out = out.filter((r) => names(r).target !== file.Name);
    out.push(make(source, file));
  }
  return out;
}

function updateMounts(
  current: readonly Mount[] | undefined,
  add: readonly string[],
  rm: readonly string[],
): Mount[] {
  const added = add.map(parseMountFlag);
  let out = [...(current ?? [])];
  const removed = new Set(rm);
  out = out.filter((m) => !removed.has(m.Target) && !(m.Source && removed.has(m.Source)));
  const seen = new Set<string>();
  for (const m of added) {
    if (seen.has(m.Target))
      throw invalidArgument(`--mount-add: two mounts with the target ${m.Target}`);
    seen.add(m.Target);
    out = out.filter((x) => x.Target !== m.Target);
    out.push(m);
  }
  return out;
}

/**
 * The container spec with mounts, secrets and configs changed by the flags. New secret and
 * config references carry names only: the manager resolves them and refuses an unknown one,
 * so the whole update is refused and nothing changes.
 */
export function applyFileUpdateFlags(c: ContainerSpec, f: Partial<FileUpdateFlags>): ContainerSpec {
  const out: ContainerSpec = { ...c };
  const set = <K extends 'Mounts' | 'Secrets' | 'Configs'>(
    key: K,
    touched: boolean,
    value: () => NonNullable<ContainerSpec[K]>,
  ) => {
    if (!touched) return;
    const v = value();
    if (v.length > 0) out[key] = v;
    else delete out[key];
  };
  const touched = (a?: string[], b?: string[]) => (a?.length ?? 0) + (b?.length ?? 0) > 0;
  // All parsing happens here, before the caller sends anything.
  set('Mounts', touched(f.mountAdd, f.mountRm), () =>
    updateMounts(c.Mounts, f.mountAdd ?? [], f.mountRm ?? []),
  );
  set('Secrets', touched(f.secretAdd, f.secretRm), () =>
    updateRefs<SecretReference>(
      c.Secrets,
      f.secretAdd ?? [],
      f.secretRm ?? [],
      'secret',
      (r) => ({ source: r.SecretName, target: r.File.Name }),
      secretReference,
    ),
  );
  set('Configs', touched(f.configAdd, f.configRm), () =>
    updateRefs<ConfigReference>(
      c.Configs,
      f.configAdd ?? [],
      f.configRm ?? [],
      'config',
      (r) => ({ source: r.ConfigName, target: r.File.Name }),
      configReference,
    ),
  );
  return out;
}
