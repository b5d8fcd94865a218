// `create`: checks the whole request, then writes the container's directory and record. The
// OCI bundle is written later, by start (see start-container.ts).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ErrorCode, TsswarmError, conflict, invalidArgument } from '../../api/errors.js';
import { checkMount } from '../../api/mount-flag.js';
import { runtimeBinary } from './binaries.js';
import { newId, randomName, writeAtomic, type ContainerStore } from './container-store.js';
import { hostsFile, resolvConf } from './etc-files.js';
import { checkFileMount, secretsDir, writeFiles } from './file-mounts.js';
import type { ImageSource } from './image-source.js';
import { healthcheckField } from './merge-healthcheck.js';
import { specMountRecord, volumeRecord } from './mount-records.js';
import { capabilities } from './oci-spec.js';
import {
  mergeEnv,
  parseBind,
  parseCpus,
  parseEnv,
  parseMemory,
  parsePidsLimit,
  parseSignal,
  parseTmpfs,
  validateHostname,
  validateName,
} from './parse.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerRecord, CreateOptions, MountRecord } from './types.js';
import { resolveUser } from './user.js';

/** Returns the new container's id. `images` is called once the request has been checked. */
export async function createContainer(
  ctx: RuntimeContext,
  images: () => Promise<ImageSource>,
  o: CreateOptions,
): Promise<string> {
  // Everything that can be wrong with the request is checked before anything is written.
  const name = o.name === undefined ? undefined : validateName(o.name);
  const memory = o.memory === undefined ? 0 : parseMemory(o.memory);
  const nanoCpus = o.cpus === undefined ? 0 : parseCpus(o.cpus);
  const pidsLimit = o.pidsLimit === undefined ? null : parsePidsLimit(o.pidsLimit);
  const binds = (o.binds ?? []).map(parseBind);
  const tmpfs = (o.tmpfs ?? []).map(parseTmpfs);
  const specMounts = o.mounts ?? [];
  for (const m of specMounts) {
    const problem = checkMount(m);
    if (problem) throw invalidArgument(`${problem} (mount at ${m.Target})`);
  }
  for (const f of o.files ?? []) checkFileMount(f);
  const stopSignal = o.stopSignal === undefined ? '' : parseSignal('--stop-signal', o.stopSignal);
  const hostname = o.hostname === undefined ? undefined : validateHostname(o.hostname);
  if (o.workingDir !== undefined && o.workingDir !== '' && !o.workingDir.startsWith('/')) {
    throw invalidArgument(`invalid working directory "${o.workingDir}" for -w: must be absolute`);
  }
  if (o.cpuShares !== undefined && (!Number.isSafeInteger(o.cpuShares) || o.cpuShares < 2)) {
    throw invalidArgument(`invalid value "${o.cpuShares}" for --cpu-shares: at least 2`);
  }
  if (o.stopTimeoutSec !== undefined && !Number.isSafeInteger(o.stopTimeoutSec)) {
    throw invalidArgument(`invalid value "${o.stopTimeoutSec}" for --stop-timeout`);
  }
  const caps = capabilities(o.capAdd ?? [], o.capDrop ?? []);
  for (const c of caps) {
    if (!/^CAP_[A-Z_]+$/.test(c)) throw invalidArgument(`unknown capability "${c}"`);
  }
  for (const b of binds) {
    if (!b.volume && !existsSync(b.source)) {
      throw invalidArgument(
        `invalid mount config for -v ${b.source}:${b.destination}: bind source path does not exist: ${b.source}`,
      );
    }
  }
  if (o.netnsPath !== undefined && !existsSync(o.netnsPath)) {
    throw invalidArgument(`network namespace ${o.netnsPath} does not exist`);
  }
  for (const m of specMounts) {
    if (m.Type === 'bind' && m.Source && !existsSync(m.Source)) {
      throw invalidArgument(
        `invalid mount config for type "bind": bind source path does not exist: ${m.Source}`,
      );
    }
  }
  const runtimeBin = runtimeBinary(ctx.config.runtime);
  if (!existsSync(runtimeBin)) {
    throw invalidArgument(`OCI runtime "${ctx.config.runtime}" not found at ${runtimeBin}`);
  }
  const image = await (await images()).resolve(o.image);
  for (const d of image.layerDirs) {
    if (!existsSync(d)) {
      throw new TsswarmError(
        ErrorCode.DataCorrupt,
        `image ${o.image} is corrupt: layer directory ${d} is missing (re-import the image)`,
      );
    }
  }
  const ic = image.config;
  const entrypoint = o.entrypoint ?? ic.Entrypoint ?? [];
  const cmd = o.cmd !== undefined && o.cmd.length > 0 ? o.cmd : o.entrypoint ? [] : (ic.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0 || argv[0] === undefined) {
    throw invalidArgument(`no command specified: image ${o.image} has no Cmd or Entrypoint`);
  }
  const user = o.user ?? ic.User ?? '';
  resolveUser(user, image.layerDirs);
  const env = mergeEnv(
    ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    ic.Env ?? [],
    parseEnv(o.env ?? []),
  );

  const id = newId();
  const p = ctx.store.paths(id);
  mkdirSync(ctx.store.namesDir, { recursive: true });
  const finalName = reserveName(ctx.store, id, name);
  try {
    mkdirSync(p.upper, { recursive: true });
    mkdirSync(p.work, { recursive: true });
    const host = hostname ?? id.slice(0, 12);
    writeFileSync(p.hostname, `${host}\n`);
    writeFileSync(p.hosts, hostsFile());
    writeFileSync(p.resolvConf, o.resolvConf ?? resolvConf());
    const mounts: MountRecord[] = [
      ...binds.map((b): MountRecord => {
        if (!b.volume) {
          return {
            Type: 'bind',
            Source: b.source,
            Destination: b.destination,
            Mode: b.readOnly ? 'ro' : '',
            RW: !b.readOnly,
            Propagation: 'rprivate',
          };
        }
        const v = ctx.volumes.create(b.source);
        return volumeRecord(v.Name, v.Mountpoint, b.destination, b.readOnly);
      }),
      ...tmpfs.map((t): MountRecord => ({
        Type: 'tmpfs',
        Source: '',
        Destination: t.destination,
        Mode: t.options,
        RW: true,
        Propagation: '',
      })),
      ...specMounts.map((m) => specMountRecord(ctx.volumes, m)),
      ...writeFiles(ctx.host, p, o.files ?? []),
    ];
    const record: ContainerRecord = {
      Id: id,
      Name: `/${finalName}`,
      Created: new Date().toISOString(),
      Path: argv[0],
      Args: argv.slice(1),
      Image: image.id,
      LayerDirs: image.layerDirs,
      Config: {
        Hostname: host,
        User: user,
        Env: env,
        Cmd: cmd.length > 0 ? cmd : null,
        Entrypoint: entrypoint.length > 0 ? entrypoint : null,
        WorkingDir: o.workingDir ?? ic.WorkingDir ?? '',
        Labels: { ...(ic.Labels ?? {}), ...(o.labels ?? {}) },
        StopSignal: stopSignal || ic.StopSignal || 'SIGTERM',
        StopTimeout: o.stopTimeoutSec ?? null,
        Image: o.image,
        ...healthcheckField(ic.Healthcheck, o.healthcheck),
      },
      HostConfig: {
        Memory: memory,
        NanoCpus: nanoCpus,
        CpuShares: o.cpuShares ?? 0,
        PidsLimit: pidsLimit,
        Binds: o.binds ?? [],
        Tmpfs: Object.fromEntries(tmpfs.map((t) => [t.destination, t.options])),
        ReadonlyRootfs: o.readOnly ?? false,
        CapAdd: o.capAdd ?? [],
        CapDrop: o.capDrop ?? [],
        Init: o.init ?? false,
        AutoRemove: o.autoRemove ?? false,
        Runtime: ctx.config.runtime,
        CgroupParent: ctx.config.cgroupParent,
        ...(o.netnsPath !== undefined ? { NetnsPath: o.netnsPath } : {}),
      },
      Mounts: mounts,
    };
    writeAtomic(p.record, `${JSON.stringify(record, null, 2)}\n`);
  } catch (err) {
    if (ctx.host.isMounted(secretsDir(p))) await ctx.host.unmount(secretsDir(p));
    rmSync(p.dir, { recursive: true, force: true });
    rmSync(ctx.store.namePath(finalName), { force: true });
    throw err;
  }
  return id;
}

/** Claims a name with an exclusive create, so two concurrent `run --name x` cannot both win. */
function reserveName(store: ContainerStore, id: string, name: string | undefined): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = name ?? randomName(attempt);
    try {
      writeFileSync(store.namePath(n), id, { flag: 'wx' });
      return n;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (name !== undefined) {
        let owner = '';
        try {
          owner = readFileSync(store.namePath(n), 'utf8').trim();
        } catch {
          // removed meanwhile: still refuse, the caller may retry
        }
        throw conflict(
          `the container name "/${n}" is already in use by container "${owner}": remove (or rename) that container to reuse the name`,
        );
      }
    }
  }
  throw conflict('could not find a free random container name');
}
