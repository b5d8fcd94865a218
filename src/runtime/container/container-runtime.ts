// The daemonless container runtime: what `tsswarm run/ps/stop/...` and the worker both use.
// All state lives in files (see container-store.ts); a ContainerRuntime object holds none, so
// a restarted process sees every container as it is.
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  openSync,
  readSync,
  closeSync,
  fstatSync,
  watch,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import {
  ErrorCode,
  TsswarmError,
  conflict,
  inUse,
  invalidArgument,
  notFound,
} from '../../api/errors.js';
import { checkMount } from '../../api/mount-flag.js';
import type { Mount } from '../../api/service.js';
import { VolumeStore, type VolumeRecord } from './volume-store.js';
import {
  cgroupDirs,
  cgroupsPath,
  detectCgroups,
  oomCounterFile,
  sampleCgroup,
  type CgroupLayout,
} from './cgroups.js';
import {
  ContainerStore,
  newId,
  randomName,
  readJson,
  writeAtomic,
  type ContainerPaths,
} from './container-store.js';
import { linuxHost, type ContainerHost, type MonitorHandle } from './host.js';
import type { ImageSource } from './image-source.js';
import { buildOciSpec, capabilities, overlayLowerdir } from './oci-spec.js';
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
import type {
  ContainerInfo,
  ContainerRecord,
  ContainerState,
  ContainerStats,
  CreateOptions,
  ExitResult,
  FileMount,
  LogEntry,
  LogOptions,
  MountRecord,
  ContainerHealth,
  ProbeResult,
} from './types.js';
import type { HealthConfig } from '../../api/service.js';
import { resolveUser } from './user.js';

export interface RuntimeConfig {
  dataRoot: string;
  execRoot: string;
  /** "runc", "crun" or an absolute path to an OCI runtime. */
  runtime: string;
  /** cgroup under which every container gets its own ("tsswarm" → /tsswarm/<id>). */
  cgroupParent: string;
  /** Path of tsswarm-shim; found next to the build when empty. */
  monitorBinary: string;
}

export function defaultRuntimeConfig(dataRoot: string, execRoot: string): RuntimeConfig {
  return { dataRoot, execRoot, runtime: 'runc', cgroupParent: 'tsswarm', monitorBinary: '' };
}

export function validateRuntimeConfig(c: RuntimeConfig): RuntimeConfig {
  if (!c.dataRoot.startsWith('/'))
    throw invalidArgument(`data root must be absolute: ${c.dataRoot}`);
  if (!c.execRoot.startsWith('/'))
    throw invalidArgument(`exec root must be absolute: ${c.execRoot}`);
  if (!/^[a-zA-Z0-9_.-]+(\/[a-zA-Z0-9_.-]+)*$/.test(c.cgroupParent)) {
    throw invalidArgument(`invalid cgroup parent "${c.cgroupParent}": expected a relative path`);
  }
  if (c.runtime !== 'runc' && c.runtime !== 'crun' && !c.runtime.startsWith('/')) {
    throw invalidArgument(`unknown runtime "${c.runtime}": use runc, crun or an absolute path`);
  }
  return c;
}

export interface OpenOptions {
  dataRoot: string;
  execRoot: string;
  runtime?: string;
  cgroupParent?: string;
  monitorBinary?: string;
  /** Where images come from; the image store of dataRoot by default. */
  images?: ImageSource;
  host?: ContainerHost;
}

export interface StartOptions {
  /** Keep the control channel: the result then carries the exit. */
  attach?: boolean;
}

export interface Attachment {
  pid: number;
  /** The container's exit, as the monitor saw it. */
  exited(): Promise<ExitResult>;
  /**
   * Call after the last logs are read: a --rm monitor then removes the container. With
   * `waitForMonitor`, resolves once the monitor is gone (the container removed, for --rm).
   */
  release(waitForMonitor: boolean): Promise<void>;
}

const monitorMarker = 'tsswarm-shim';

export class ContainerRuntime {
  private readonly store: ContainerStore;
  private readonly volumes: VolumeStore;
  private readonly cgroups: CgroupLayout;
  private constructor(
    readonly config: RuntimeConfig,
    private readonly imageSource: ImageSource | undefined,
    private readonly host: ContainerHost,
  ) {
    this.store = new ContainerStore(config.dataRoot, config.execRoot);
    this.volumes = new VolumeStore(config.dataRoot);
    this.cgroups = detectCgroups();
  }

  static open(opts: OpenOptions): ContainerRuntime {
    const c = defaultRuntimeConfig(opts.dataRoot, opts.execRoot);
    if (opts.runtime !== undefined) c.runtime = opts.runtime;
    if (opts.cgroupParent !== undefined) c.cgroupParent = opts.cgroupParent;
    if (opts.monitorBinary !== undefined) c.monitorBinary = opts.monitorBinary;
    return new ContainerRuntime(validateRuntimeConfig(c), opts.images, opts.host ?? linuxHost);
  }

  private async images(): Promise<ImageSource> {
    if (this.imageSource) return this.imageSource;
    const { openImageStore } = await import('./image-store-source.js');
    return openImageStore(this.config.dataRoot);
  }

  // ---- create ------------------------------------------------------------------------------

  async create(o: CreateOptions): Promise<string> {
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
    const runtimeBin = this.runtimeBinary();
    if (!existsSync(runtimeBin)) {
      throw invalidArgument(`OCI runtime "${this.config.runtime}" not found at ${runtimeBin}`);
    }
    const image = await (await this.images()).resolve(o.image);
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
    const cmd =
      o.cmd !== undefined && o.cmd.length > 0 ? o.cmd : o.entrypoint ? [] : (ic.Cmd ?? []);
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
    const p = this.store.paths(id);
    mkdirSync(this.store.namesDir, { recursive: true });
    const finalName = this.reserveName(id, name);
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
          const v = this.volumes.create(b.source);
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
        ...specMounts.map((m) => this.mountRecord(m)),
        ...this.writeFiles(p, o.files ?? []),
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
          Runtime: this.config.runtime,
          CgroupParent: this.config.cgroupParent,
          ...(o.netnsPath !== undefined ? { NetnsPath: o.netnsPath } : {}),
        },
        Mounts: mounts,
      };
      writeAtomic(p.record, `${JSON.stringify(record, null, 2)}\n`);
    } catch (err) {
      if (this.host.isMounted(secretsDir(p))) await this.host.unmount(secretsDir(p));
      rmSync(p.dir, { recursive: true, force: true });
      rmSync(this.store.namePath(finalName), { force: true });
      throw err;
    }
    return id;
  }

  private mountRecord(m: Mount): MountRecord {
    if (m.Type === 'volume') {
      const v = this.volumes.create(m.Source || undefined, m.VolumeOptions?.Labels ?? {});
      return volumeRecord(v.Name, v.Mountpoint, m.Target, m.ReadOnly === true);
    }
    if (m.Type === 'bind') {
      return {
        Type: 'bind',
        Source: m.Source ?? '',
        Destination: m.Target,
        Mode: m.ReadOnly ? 'ro' : '',
        RW: m.ReadOnly !== true,
        Propagation: m.BindOptions?.Propagation ?? 'rprivate',
      };
    }
    const opts: string[] = [];
    if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
    if (m.TmpfsOptions?.Mode !== undefined) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
    if (m.ReadOnly) opts.push('ro');
    return {
      Type: 'tmpfs',
      Source: '',
      Destination: m.Target,
      Mode: opts.join(','),
      RW: m.ReadOnly !== true,
      Propagation: '',
    };
  }

  /**
   * Secrets go on a tmpfs of the container's own (never on disk), configs into its directory;
   * each file is bind-mounted read-only at its target with the owner and mode asked for.
   */
  private writeFiles(p: ContainerPaths, files: readonly FileMount[]): MountRecord[] {
    if (files.length === 0) return [];
    const out: MountRecord[] = [];
    const memDir = secretsDir(p);
    const diskDir = join(p.dir, 'configs');
    if (files.some((f) => f.inMemory)) {
      mkdirSync(memDir, { recursive: true, mode: 0o700 });
      this.host.mountTmpfs(memDir, 'mode=0700,size=8m,nosuid,nodev,noexec');
    }
    if (files.some((f) => !f.inMemory)) mkdirSync(diskDir, { recursive: true, mode: 0o700 });
    files.forEach((f, i) => {
      const path = join(f.inMemory ? memDir : diskDir, String(i));
      writeFileSync(path, f.data, { mode: f.mode });
      chmodSync(path, f.mode);
      chownSync(path, f.uid, f.gid);
      out.push({
        Type: 'bind',
        Source: path,
        Destination: f.target,
        Mode: 'ro',
        RW: false,
        Propagation: 'rprivate',
      });
    });
    return out;
  }

  // ---- volumes -----------------------------------------------------------------------------

  createVolume(name: string | undefined, labels: Record<string, string> = {}): VolumeRecord {
    return this.volumes.create(name, labels);
  }

  listVolumes(): VolumeRecord[] {
    return this.volumes.list();
  }

  inspectVolume(name: string): VolumeRecord {
    return this.volumes.inspect(name);
  }

  /** Containers (in any state) that mount the volume. */
  volumeUsers(name: string): string[] {
    const users: string[] = [];
    for (const id of this.store.ids()) {
      const r = readJson<ContainerRecord>(this.store.paths(id).record);
      if (r?.Mounts.some((m) => m.Type === 'volume' && m.Name === name)) users.push(id);
    }
    return users;
  }

  /** Docker's `volume rm`: refused while a container uses it; `force` ignores a missing one. */
  removeVolume(name: string, opts: { force?: boolean } = {}): void {
    if (!this.volumes.get(name)) {
      if (opts.force) return;
      throw notFound(`No such volume: ${name}`);
    }
    const users = this.volumeUsers(name);
    if (users.length > 0) {
      throw inUse(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    }
    this.volumes.remove(name);
  }

  /** Claims a name with an exclusive create, so two concurrent `run --name x` cannot both win. */
  private reserveName(id: string, name: string | undefined): string {
    for (let attempt = 0; attempt < 20; attempt++) {
      const n = name ?? randomName(attempt);
      try {
        writeFileSync(this.store.namePath(n), id, { flag: 'wx' });
        return n;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (name !== undefined) {
          let owner = '';
          try {
            owner = readFileSync(this.store.namePath(n), 'utf8').trim();
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

  // ---- start -------------------------------------------------------------------------------

  async start(ref: string, opts: StartOptions = {}): Promise<Attachment | undefined> {
    const id = this.store.resolve(ref);
    const r = this.store.readRecord(id);
    const state = this.state(id, r);
    if (state.Running) return undefined;
    const p = this.store.paths(id);
    rmSync(p.exit, { force: true });
    rmSync(p.running, { force: true });
    mkdirSync(p.rootfs, { recursive: true });
    const user = resolveUser(r.Config.User, r.LayerDirs);
    const cgPath = cgroupsPath(r.HostConfig.CgroupParent, id);
    const spec = buildOciSpec({
      record: r,
      rootfs: p.rootfs,
      ...user,
      hostsPath: p.hosts,
      hostnamePath: p.hostname,
      resolvConfPath: p.resolvConf,
      cgroupsPath: cgPath,
      initBinary: this.monitorBinary(),
    });
    writeFileSync(p.ociConfig, JSON.stringify(spec));
    const args = [
      '--runtime',
      this.runtimeBinary(r.HostConfig.Runtime),
      '--runtime-root',
      this.runtimeRoot(r.HostConfig.Runtime),
      '--bundle',
      p.bundle,
      '--id',
      id,
      '--log',
      p.log,
      '--state-dir',
      p.dir,
      '--cgroup',
      cgPath,
      '--oom-file',
      oomCounterFile(this.cgroups, cgPath),
      '--lower',
      overlayLowerdir(r.LayerDirs),
      '--upper',
      p.upper,
      '--work',
      p.work,
      '--target',
      p.rootfs,
    ];
    if (r.HostConfig.AutoRemove) {
      args.push('--rm', '--rm-path', p.dir, '--rm-path', p.bundle);
      args.push('--rm-path', this.store.namePath(r.Name.slice(1)));
    }
    const mon = this.host.startMonitor(this.monitorBinary(), args, p.monitorLog);
    const first = await mon.next();
    if (first.type !== 'started') {
      const message = first.type === 'error' ? first.message : 'the container monitor exited';
      mon.detach();
      throw this.startFailed(id, r, message);
    }
    if (!opts.attach) {
      mon.detach();
      return undefined;
    }
    return attachment(first.pid, mon);
  }

  private startFailed(id: string, r: ContainerRecord, message: string): TsswarmError {
    const p = this.store.paths(id);
    let err: TsswarmError;
    let exitCode = 125;
    if (/executable file not found|no such file or directory/i.test(message)) {
      err = new TsswarmError(ErrorCode.CommandNotFound, `failed to start container: ${message}`);
      exitCode = 127;
    } else if (/permission denied|exec format error|is a directory/i.test(message)) {
      err = new TsswarmError(ErrorCode.CommandNotRunnable, `failed to start container: ${message}`);
      exitCode = 126;
    } else if (/cgroups? in hybrid mode/i.test(message)) {
      err = new TsswarmError(
        ErrorCode.Unavailable,
        `OCI runtime ${r.HostConfig.Runtime} cannot run on this host: ${message}`,
      );
    } else {
      err = new TsswarmError(ErrorCode.Internal, `failed to start container: ${message}`);
    }
    if (r.HostConfig.AutoRemove) {
      this.removeFiles(id, r);
    } else if (existsSync(p.dir)) {
      writeAtomic(
        p.exit,
        JSON.stringify({
          exitCode,
          oomKilled: false,
          finishedAt: new Date().toISOString(),
          error: message,
        }),
      );
    }
    return err;
  }

  // ---- state -------------------------------------------------------------------------------

  private state(id: string, r?: ContainerRecord): ContainerState {
    const p = this.store.paths(id);
    const running = readJson<{ pid: number; monitorPid: number; startedAt: string }>(p.running);
    type ExitFile = { exitCode: number; oomKilled: boolean; finishedAt: string; error?: string };
    let exit = readJson<ExitFile>(p.exit);
    const health = readJson<ContainerHealth>(p.health);
    const base: ContainerState = {
      ...(health ? { Health: health } : {}),
      Status: 'created',
      Running: false,
      Pid: 0,
      ExitCode: 0,
      OOMKilled: false,
      Error: '',
      StartedAt: running?.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      MonitorPid: 0,
    };
    void r;
    // The monitor writes exit.json and then exits: a monitor found gone may have done so
    // between the first read and the liveness check.
    if (!exit && running && !this.host.processAlive(running.monitorPid, monitorMarker)) {
      exit = readJson<ExitFile>(p.exit);
    }
    if (exit) {
      return {
        ...base,
        Status: 'exited',
        ExitCode: exit.exitCode,
        OOMKilled: exit.oomKilled,
        Error: exit.error ?? '',
        FinishedAt: exit.finishedAt,
      };
    }
    if (!running) return base;
    if (this.host.processAlive(running.monitorPid, monitorMarker)) {
      return {
        ...base,
        Status: 'running',
        Running: true,
        Pid: running.pid,
        MonitorPid: running.monitorPid,
      };
    }
    // The monitor died without recording an exit (killed, or the host rebooted).
    return {
      ...base,
      Status: 'dead',
      ExitCode: 255,
      Error: `monitor ${running.monitorPid} is gone and recorded no exit`,
    };
  }

  async inspect(ref: string): Promise<ContainerInfo> {
    const id = this.store.resolve(ref);
    const record = this.store.readRecord(id);
    return Promise.resolve({ record, state: this.state(id, record) });
  }

  /** Every container, or those whose labels include all of `labels`. */
  async list(
    filter: { all?: boolean; labels?: Record<string, string> } = {},
  ): Promise<ContainerInfo[]> {
    const out: ContainerInfo[] = [];
    for (const id of this.store.ids()) {
      let record: ContainerRecord;
      try {
        record = this.store.readRecord(id);
      } catch {
        continue; // being created or removed right now
      }
      const state = this.state(id, record);
      if (!filter.all && !state.Running) continue;
      if (filter.labels) {
        const ok = Object.entries(filter.labels).every(([k, v]) => record.Config.Labels[k] === v);
        if (!ok) continue;
      }
      out.push({ record, state });
    }
    out.sort((a, b) => b.record.Created.localeCompare(a.record.Created));
    return Promise.resolve(out);
  }

  paths(ref: string): ContainerPaths {
    return this.store.paths(this.store.resolve(ref));
  }

  cgroupPath(ref: string): string {
    const id = this.store.resolve(ref);
    return cgroupsPath(this.store.readRecord(id).HostConfig.CgroupParent, id);
  }

  // ---- wait / stop / kill ------------------------------------------------------------------

  async wait(ref: string, signal?: AbortSignal): Promise<ExitResult> {
    const id = this.store.resolve(ref);
    for (;;) {
      const s = this.state(id);
      if (s.Status === 'exited' || s.Status === 'dead') {
        return s.Error
          ? { exitCode: s.ExitCode, oomKilled: s.OOMKilled, error: s.Error }
          : { exitCode: s.ExitCode, oomKilled: s.OOMKilled };
      }
      if (signal?.aborted) throw new TsswarmError(ErrorCode.Unavailable, 'wait aborted');
      // Removed by another caller while we waited: its state files will never change again.
      if (!existsSync(this.store.paths(id).dir)) throw notFound(`No such container: ${ref}`);
      await waitForChange(this.store.paths(id).dir, 200);
    }
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const id = this.store.resolve(ref);
    const sig = parseSignal('--signal', signal);
    const r = this.store.readRecord(id);
    if (!this.state(id, r).Running) {
      throw conflict(`cannot kill container ${ref}: container ${id} is not running`);
    }
    const res = await this.host.runRuntime(this.runtimeBinary(r.HostConfig.Runtime), [
      '--root',
      this.runtimeRoot(r.HostConfig.Runtime),
      'kill',
      id,
      sig.slice(3),
    ]);
    if (res.code !== 0 && this.state(id, r).Running) {
      throw new TsswarmError(ErrorCode.Internal, `kill ${ref}: ${res.stderr.trim()}`);
    }
  }

  /** Sends the stop signal, then SIGKILL after the timeout (container's, else 10 s). */
  async stop(ref: string, timeoutSec?: number): Promise<void> {
    const id = this.store.resolve(ref);
    const r = this.store.readRecord(id);
    if (!this.state(id, r).Running) return;
    const t = timeoutSec ?? r.Config.StopTimeout ?? 10;
    await this.kill(id, r.Config.StopSignal).catch((err: unknown) => {
      if (this.state(id, r).Running) throw err;
    });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.max(0, t) * 1000);
    try {
      await this.wait(id, ac.signal);
      return;
    } catch {
      // timed out: kill
    } finally {
      clearTimeout(timer);
    }
    if (this.state(id, r).Running) await this.kill(id, 'SIGKILL').catch(() => undefined);
    await this.wait(id);
  }

  // ---- remove ------------------------------------------------------------------------------

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const id = this.store.resolve(ref);
    const r = this.store.readRecord(id);
    const s = this.state(id, r);
    if (s.Running) {
      if (!opts.force) {
        throw conflict(
          `cannot remove container ${ref}: container is running: stop the container before removing or force remove`,
        );
      }
      await this.kill(id, 'SIGKILL').catch(() => undefined);
      await this.wait(id);
    }
    // The monitor unmounts and deletes the runtime state once the container has exited.
    const deadline = Date.now() + 10_000;
    while (s.MonitorPid > 0 && this.host.processAlive(s.MonitorPid, monitorMarker)) {
      if (Date.now() > deadline) break;
      await delay(10);
    }
    const running = readJson<{ monitorPid: number }>(this.store.paths(id).running);
    while (running && this.host.processAlive(running.monitorPid, monitorMarker)) {
      if (Date.now() > deadline) break;
      await delay(10);
    }
    await this.cleanupRuntime(id, r);
    this.removeFiles(id, r);
  }

  /** Undoes what a dead monitor could not: runtime state, mount, cgroup. */
  private async cleanupRuntime(id: string, r: ContainerRecord): Promise<void> {
    const p = this.store.paths(id);
    const root = this.runtimeRoot(r.HostConfig.Runtime);
    if (existsSync(join(root, id))) {
      await this.host.runRuntime(this.runtimeBinary(r.HostConfig.Runtime), [
        '--root',
        root,
        'delete',
        '--force',
        id,
      ]);
    }
    if (this.host.isMounted(p.rootfs)) await this.host.unmount(p.rootfs);
    if (this.host.isMounted(secretsDir(p))) await this.host.unmount(secretsDir(p));
    for (const d of cgroupDirs(this.cgroups, cgroupsPath(r.HostConfig.CgroupParent, id))) {
      try {
        rmSync(d, { recursive: false, force: true });
      } catch {
        // busy or gone
      }
    }
  }

  private removeFiles(id: string, r: ContainerRecord): void {
    const p = this.store.paths(id);
    rmSync(p.bundle, { recursive: true, force: true });
    rmSync(p.dir, { recursive: true, force: true });
    const namePath = this.store.namePath(r.Name.slice(1));
    try {
      if (readFileSync(namePath, 'utf8').trim() === id) rmSync(namePath, { force: true });
    } catch {
      // already gone
    }
  }

  // ---- logs --------------------------------------------------------------------------------

  async *logs(ref: string, opts: LogOptions = {}): AsyncGenerator<LogEntry> {
    const id = this.store.resolve(ref);
    const p = this.store.paths(id);
    let offset = 0;
    let rest = '';
    const readNew = (): LogEntry[] => {
      let fd: number;
      try {
        fd = openSync(p.log, 'r');
      } catch {
        return [];
      }
      try {
        const size = fstatSync(fd).size;
        if (size <= offset) return [];
        const buf = Buffer.alloc(size - offset);
        const n = readSync(fd, buf, 0, buf.length, offset);
        offset += n;
        const text = rest + buf.subarray(0, n).toString('utf8');
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        return lines.filter((l) => l !== '').map(parseLogLine);
      } finally {
        closeSync(fd);
      }
    };
    let first = readNew();
    if (opts.tail !== undefined) first = opts.tail <= 0 ? [] : first.slice(-opts.tail);
    for (const e of first) yield e;
    if (!opts.follow) return;
    for (;;) {
      // Decided before reading: once the container has exited its log is complete, so the
      // read that follows gets every last line. An abort means the caller knows it exited.
      const s = this.state(id);
      const done = (s.Status !== 'running' && s.Status !== 'created') || opts.signal?.aborted;
      for (const e of readNew()) yield e;
      if (done || !existsSync(p.dir)) return;
      await waitForChange(p.dir, 100, opts.signal);
    }
  }

  // ---- exec --------------------------------------------------------------------------------

  /**
   * Runs a command in a running container with this process's stdout and stderr (and stdin
   * with `stdin`, as `docker exec -i`); returns its exit code.
   */
  async exec(ref: string, cmd: string[], opts: ExecOptions = {}): Promise<number> {
    const call = this.execCall(ref, cmd, opts);
    const res = await this.host.runRuntime(
      call.binary,
      call.args,
      opts.stdin === true ? true : 'output',
    );
    return execExitCode(res.code, call.runtimeLog);
  }

  /**
   * Runs a command in a running container with its stdio as streams (the API's exec): stdin
   * only with `opts.stdin`. `kill()` ends the command itself, not only the runtime's process.
   * The exit code maps as `exec`'s: 127 command not found, 126 not runnable.
   */
  execPiped(ref: string, cmd: string[], opts: ExecOptions = {}): ExecProcess {
    const pidFile = join(
      this.store.paths(this.store.resolve(ref)).bundle,
      `exec-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.pid`,
    );
    const call = this.execCall(ref, cmd, opts, pidFile);
    const child = this.host.spawnPiped(call.binary, call.args, opts.stdin === true);
    const exited = child.exited.then((code) => {
      rmSync(pidFile, { force: true });
      return execExitCode(code, call.runtimeLog);
    });
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exited,
      kill: () => {
        try {
          const pid = Number(readFileSync(pidFile, 'utf8').trim());
          if (pid > 0) process.kill(pid, 'SIGKILL');
        } catch {
          // not started yet, or already gone
        }
        child.kill();
      },
    };
  }

  /** Checks an exec and builds the runtime's arguments: the container must run. */
  private execCall(
    ref: string,
    cmd: string[],
    opts: ExecOptions,
    pidFile?: string,
  ): { binary: string; args: string[]; runtimeLog: string } {
    const id = this.store.resolve(ref);
    const r = this.store.readRecord(id);
    if (!this.state(id, r).Running) throw conflict(`container ${id} is not running`);
    if (cmd.length === 0) throw invalidArgument('exec needs a command');
    // As docker: the container's user unless the exec names one.
    const userSpec = opts.user ?? r.Config.User;
    const user = userSpec ? resolveUser(userSpec, r.LayerDirs) : undefined;
    // runc exits 255 for its own failures; its log says whether the command was the problem.
    const runtimeLog = join(
      this.store.paths(id).bundle,
      `exec-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`,
    );
    const args = [
      '--root',
      this.runtimeRoot(r.HostConfig.Runtime),
      '--log',
      runtimeLog,
      '--log-format',
      'json',
      'exec',
    ];
    if (pidFile !== undefined) args.push('--pid-file', pidFile);
    for (const e of parseEnv(opts.env ?? [])) args.push('--env', e);
    if (opts.workingDir) args.push('--cwd', opts.workingDir);
    if (user) {
      args.push('--user', `${user.uid}:${user.gid}`);
      for (const g of user.additionalGids) args.push('--additional-gids', String(g));
    }
    args.push(id, ...cmd);
    return { binary: this.runtimeBinary(r.HostConfig.Runtime), args, runtimeLog };
  }

  /**
   * Runs a health probe in a running container: output captured (not this process's stdio),
   * killed past `timeoutMs`. One `runc exec`, so about as cheap as an exec can be here.
   */
  async probe(ref: string, cmd: string[], opts: { timeoutMs: number }): Promise<ProbeResult> {
    const id = this.store.resolve(ref);
    const r = this.store.readRecord(id);
    if (!this.state(id, r).Running) throw conflict(`container ${id} is not running`);
    if (cmd.length === 0) throw invalidArgument('a health probe needs a command');
    const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const bundle = this.store.paths(id).bundle;
    const pidFile = join(bundle, `probe-${stamp}.pid`);
    const args = ['--root', this.runtimeRoot(r.HostConfig.Runtime), 'exec', '--pid-file', pidFile];
    if (r.Config.User) args.push('--user', r.Config.User);
    if (r.Config.WorkingDir) args.push('--cwd', r.Config.WorkingDir);
    args.push(id, ...cmd);
    try {
      const res = await this.host.runCaptured(this.runtimeBinary(r.HostConfig.Runtime), args, {
        timeoutMs: opts.timeoutMs,
        pidFile,
        maxOutput: 4096,
      });
      return { exitCode: res.code, output: res.output, timedOut: res.timedOut };
    } finally {
      rmSync(pidFile, { force: true });
    }
  }

  /** Records the health the caller observed; `ps` and `inspect` show it as docker does. */
  setHealth(ref: string, health: ContainerHealth | undefined): void {
    const p = this.store.paths(this.store.resolve(ref));
    if (health === undefined) rmSync(p.health, { force: true });
    else writeAtomic(p.health, JSON.stringify(health));
  }

  // ---- stats -------------------------------------------------------------------------------

  async stats(refs?: string[]): Promise<ContainerStats[]> {
    const infos =
      refs && refs.length > 0
        ? await Promise.all(refs.map((r) => this.inspect(r)))
        : await this.list({ all: false });
    const paths = infos.map((i) => cgroupsPath(i.record.HostConfig.CgroupParent, i.record.Id));
    const before = paths.map((p) => sampleCgroup(this.cgroups, p));
    const t0 = process.hrtime.bigint();
    await delay(100);
    const wallNs = Number(process.hrtime.bigint() - t0);
    return infos.map((info, k) => {
      const a = before[k];
      const b = sampleCgroup(this.cgroups, paths[k] ?? '');
      const cpu = a && b && wallNs > 0 ? ((b.cpuNs - a.cpuNs) / wallNs) * 100 : 0;
      return {
        id: info.record.Id,
        name: info.record.Name.slice(1),
        cpuPercent: Math.max(0, cpu),
        memoryUsage: b?.memoryUsage ?? 0,
        memoryLimit: b?.memoryLimit ?? totalMemory(),
        pids: b?.pids ?? 0,
      };
    });
  }

  // ---- helpers -----------------------------------------------------------------------------

  runtimeBinary(runtime = this.config.runtime): string {
    if (runtime.startsWith('/')) return runtime;
    for (const dir of [
      '/usr/sbin',
      '/usr/bin',
      '/usr/local/sbin',
      '/usr/local/bin',
      '/sbin',
      '/bin',
    ]) {
      const p = join(dir, runtime);
      if (existsSync(p)) return p;
    }
    return join('/usr/sbin', runtime);
  }

  runtimeRoot(runtime = this.config.runtime): string {
    const name = runtime.startsWith('/') ? (runtime.split('/').pop() ?? 'oci') : runtime;
    return join(this.config.execRoot, name);
  }

  monitorBinary(): string {
    if (this.config.monitorBinary) return this.config.monitorBinary;
    return findMonitorBinary();
  }
}

let monitorPathCache: string | undefined;
/** build/tsswarm-shim of the checkout this module runs from (bundle in dist/ or sources). */
export interface ExecOptions {
  env?: string[];
  workingDir?: string;
  /** user[:group], resolved in the image's passwd; the container's user by default. */
  user?: string;
  /** Give the command a stdin (this process's for `exec`, a pipe for `execPiped`). */
  stdin?: boolean;
}

export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable;
  /** The command's exit code: 127 not found, 126 not runnable, as docker. */
  exited: Promise<number>;
  /** SIGKILL to the command in the container and to the runtime's process. */
  kill(): void;
}

/** The runtime's exit code for an exec, 255 mapped through its log to docker's 126/127. */
function execExitCode(code: number, runtimeLog: string): number {
  let log = '';
  try {
    log = readFileSync(runtimeLog, 'utf8');
  } catch {
    // no log: the runtime had nothing to say
  }
  rmSync(runtimeLog, { force: true });
  if (code === 255 && /executable file not found|no such file or directory/.test(log)) return 127;
  if (code === 255 && /permission denied|exec format error/.test(log)) return 126;
  return code;
}

export function findMonitorBinary(): string {
  if (monitorPathCache) return monitorPathCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'build', 'tsswarm-shim');
    if (existsSync(p)) return (monitorPathCache = p);
    dir = dirname(dir);
  }
  throw new TsswarmError(
    ErrorCode.Unavailable,
    'container monitor build/tsswarm-shim not found: run npm run build',
  );
}

function attachment(pid: number, mon: MonitorHandle): Attachment {
  let exit: Promise<ExitResult> | undefined;
  return {
    pid,
    exited() {
      exit ??= mon
        .next()
        .then((e) =>
          e.type === 'exited'
            ? { exitCode: e.exitCode, oomKilled: e.oomKilled }
            : { exitCode: 255, oomKilled: false, error: 'the container monitor went away' },
        );
      return exit;
    },
    async release(waitForMonitor) {
      mon.ack();
      if (!waitForMonitor) {
        mon.detach();
        return;
      }
      // The monitor closes the channel when it exits, after removal for --rm.
      for (;;) {
        const e = await mon.next();
        if (e.type === 'closed') break;
      }
      mon.detach();
    },
  };
}

function parseLogLine(line: string): LogEntry {
  try {
    const o = JSON.parse(line) as { log?: string; stream?: string; time?: string };
    return {
      line: o.log ?? '',
      stream: o.stream === 'stderr' ? 'stderr' : 'stdout',
      time: o.time ?? '',
    };
  } catch {
    return { line: `${line}\n`, stream: 'stdout', time: '' };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when something in `dir` changes, or after `maxMs` (a watch can miss events). */
function waitForChange(dir: string, maxMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let w: ReturnType<typeof watch> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      w?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    try {
      w = watch(dir, done);
      w.on('error', done);
    } catch {
      // dir gone: the timer resolves
    }
    signal?.addEventListener('abort', done);
  });
}

function totalMemory(): number {
  try {
    const m = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function hostsFile(): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    '',
  ].join('\n');
}

/** The host's resolv.conf without loopback resolvers, which mean nothing in another netns. */
function resolvConf(): string {
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
  const lines = text.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  return lines.join('\n');
}

/**
 * Docker's merge of a container's health check over its image's: no Test (or `[]`) inherits
 * the image's, and each duration or count left at 0 takes the image's. `["NONE"]` disables.
 */
export function mergeHealthcheck(
  image: HealthConfig | undefined,
  own: HealthConfig | undefined,
): HealthConfig | undefined {
  const test = own?.Test && own.Test.length > 0 ? own.Test : image?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  const pick = (k: 'Interval' | 'Timeout' | 'StartPeriod' | 'Retries' | 'StartInterval') =>
    own?.[k] ? { [k]: own[k] } : image?.[k] ? { [k]: image[k] } : {};
  return {
    Test: test,
    ...pick('Interval'),
    ...pick('Timeout'),
    ...pick('StartPeriod'),
    ...pick('StartInterval'),
    ...pick('Retries'),
  };
}

function healthcheckField(
  image: HealthConfig | undefined,
  own: HealthConfig | undefined,
): { Healthcheck?: HealthConfig } {
  const h = mergeHealthcheck(image, own);
  return h ? { Healthcheck: h } : {};
}

function volumeRecord(
  name: string,
  mountpoint: string,
  destination: string,
  readOnly: boolean,
): MountRecord {
  return {
    Type: 'volume',
    Name: name,
    Source: mountpoint,
    Destination: destination,
    Mode: readOnly ? 'ro' : '',
    RW: !readOnly,
    Propagation: '',
  };
}

/** The container's in-memory directory for secrets. */
function secretsDir(p: ContainerPaths): string {
  return join(p.dir, 'secrets');
}

/** Secrets and configs are small files; the limit keeps a container's tmpfs small too. */
const maxFileMountBytes = 500 * 1024;

function checkFileMount(f: FileMount): void {
  if (!f.target.startsWith('/')) {
    throw invalidArgument(`invalid file target "${f.target}": must be absolute`);
  }
  if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777) {
    throw invalidArgument(`invalid file mode ${f.mode.toString(8)} for ${f.target}`);
  }
  for (const [what, v] of [
    ['uid', f.uid],
    ['gid', f.gid],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw invalidArgument(`invalid ${what} ${v} for ${f.target}`);
  }
  if (f.data.byteLength > maxFileMountBytes) {
    throw invalidArgument(`file for ${f.target} is over ${maxFileMountBytes} bytes`);
  }
}
