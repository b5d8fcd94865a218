// The daemonless container runtime: what `tsswarm run/ps/stop/...` and the worker both use.
// All state lives in files (see container-store.ts); a ContainerRuntime object holds none, so
// a restarted process sees every container as it is. Each verb lives in a file of its own;
// this class only wires them to one RuntimeContext.
import { ImageStore } from '../image/index.js';
import { monitorBinary, runtimeBinary, runtimeRoot } from './binaries.js';
import { cgroupsPath, detectCgroups } from './cgroups.js';
import { containerLogs } from './container-logs.js';
import { execContainer, execPiped, type ExecOptions, type ExecProcess } from './container-exec.js';
import { probe, setHealth } from './container-health.js';
import { containerStats } from './container-stats.js';
import { ContainerStore, type ContainerPaths } from './container-store.js';
import { createContainer } from './create-container.js';
import { linuxHost, type ContainerHost } from './host.js';
import type { ImageSource } from './image-source.js';
import { inspectContainer, listContainers } from './list-containers.js';
import { removeContainer } from './remove-container.js';
import {
  defaultRuntimeConfig,
  validateRuntimeConfig,
  type RuntimeConfig,
} from './runtime-config.js';
import type { RuntimeContext } from './runtime-context.js';
import { startContainer, type Attachment, type StartOptions } from './start-container.js';
import { killContainer, stopContainer, waitContainer } from './stop-container.js';
import type {
  ContainerHealth,
  ContainerInfo,
  ContainerStats,
  CreateOptions,
  ExitResult,
  LogEntry,
  LogOptions,
  ProbeResult,
} from './types.js';
import { VolumeStore, type VolumeRecord } from './volume-store.js';
import { removeVolume, volumeUsers } from './volume-users.js';

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

export class ContainerRuntime {
  private readonly ctx: RuntimeContext;
  private constructor(
    readonly config: RuntimeConfig,
    private readonly imageSource: ImageSource | undefined,
    host: ContainerHost,
  ) {
    this.ctx = {
      config,
      host,
      store: new ContainerStore(config.dataRoot, config.execRoot),
      volumes: new VolumeStore(config.dataRoot),
      cgroups: detectCgroups(),
    };
  }

  static open(opts: OpenOptions): ContainerRuntime {
    const c = defaultRuntimeConfig(opts.dataRoot, opts.execRoot);
    if (opts.runtime !== undefined) c.runtime = opts.runtime;
    if (opts.cgroupParent !== undefined) c.cgroupParent = opts.cgroupParent;
    if (opts.monitorBinary !== undefined) c.monitorBinary = opts.monitorBinary;
    return new ContainerRuntime(validateRuntimeConfig(c), opts.images, opts.host ?? linuxHost);
  }

  // Opened on first use only: a create refused by its checks leaves no image store behind.
  private async images(): Promise<ImageSource> {
    if (this.imageSource) return this.imageSource;
    return ImageStore.open(this.config.dataRoot);
  }

  create(o: CreateOptions): Promise<string> {
    return createContainer(this.ctx, () => this.images(), o);
  }

  start(ref: string, opts: StartOptions = {}): Promise<Attachment | undefined> {
    return startContainer(this.ctx, ref, opts);
  }

  inspect(ref: string): Promise<ContainerInfo> {
    return inspectContainer(this.ctx, ref);
  }

  /** Every container, or those whose labels include all of `labels`. */
  list(filter: { all?: boolean; labels?: Record<string, string> } = {}): Promise<ContainerInfo[]> {
    return listContainers(this.ctx, filter);
  }

  paths(ref: string): ContainerPaths {
    return this.ctx.store.paths(this.ctx.store.resolve(ref));
  }

  cgroupPath(ref: string): string {
    const id = this.ctx.store.resolve(ref);
    return cgroupsPath(this.ctx.store.readRecord(id).HostConfig.CgroupParent, id);
  }

  wait(ref: string, signal?: AbortSignal): Promise<ExitResult> {
    return waitContainer(this.ctx, ref, signal);
  }

  kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    return killContainer(this.ctx, ref, signal);
  }

  /** Sends the stop signal, then SIGKILL after the timeout (container's, else 10 s). */
  stop(ref: string, timeoutSec?: number): Promise<void> {
    return stopContainer(this.ctx, ref, timeoutSec);
  }

  remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    return removeContainer(this.ctx, ref, opts);
  }

  logs(ref: string, opts: LogOptions = {}): AsyncGenerator<LogEntry> {
    return containerLogs(this.ctx, ref, opts);
  }

  /**
   * Runs a command in a running container with this process's stdout and stderr (and stdin
   * with `stdin`, as `docker exec -i`); returns its exit code.
   */
  exec(ref: string, cmd: string[], opts: ExecOptions = {}): Promise<number> {
    return execContainer(this.ctx, ref, cmd, opts);
  }

  /** `exec` with the command's stdio as streams (the API's exec); see container-exec.ts. */
  execPiped(ref: string, cmd: string[], opts: ExecOptions = {}): ExecProcess {
    return execPiped(this.ctx, ref, cmd, opts);
  }

  probe(ref: string, cmd: string[], opts: { timeoutMs: number }): Promise<ProbeResult> {
    return probe(this.ctx, ref, cmd, opts);
  }

  /** Records the health the caller observed; `ps` and `inspect` show it as docker does. */
  setHealth(ref: string, health: ContainerHealth | undefined): void {
    setHealth(this.ctx, ref, health);
  }

  stats(refs?: string[]): Promise<ContainerStats[]> {
    return containerStats(this.ctx, refs);
  }

  createVolume(name: string | undefined, labels: Record<string, string> = {}): VolumeRecord {
    return this.ctx.volumes.create(name, labels);
  }

  listVolumes(): VolumeRecord[] {
    return this.ctx.volumes.list();
  }

  inspectVolume(name: string): VolumeRecord {
    return this.ctx.volumes.inspect(name);
  }

  /** Containers (in any state) that mount the volume. */
  volumeUsers(name: string): string[] {
    return volumeUsers(this.ctx, name);
  }

  /** Docker's `volume rm`: refused while a container uses it; `force` ignores a missing one. */
  removeVolume(name: string, opts: { force?: boolean } = {}): void {
    removeVolume(this.ctx, name, opts);
  }

  runtimeBinary(runtime = this.config.runtime): string {
    return runtimeBinary(runtime);
  }

  runtimeRoot(runtime = this.config.runtime): string {
    return runtimeRoot(this.config.execRoot, runtime);
  }

  monitorBinary(): string {
    return monitorBinary(this.config);
  }
}
