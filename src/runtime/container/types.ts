import type { HealthConfig, Mount } from '../../api/service.js';

/**
 * A file the container sees at `target` (a secret or a config). In-memory files live on a tmpfs
 * the runtime mounts for the container, so their bytes never reach a disk.
 */
export interface FileMount {
  target: string;
  data: Uint8Array;
  uid: number;
  gid: number;
  mode: number;
  inMemory: boolean;
}

/** What a caller asks for; the library's equivalent of `tsswarm run` flags. */
export interface CreateOptions {
  image: string;
  name?: string;
  /** Replaces the image's Cmd. */
  cmd?: string[];
  /** Replaces the image's Entrypoint. */
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  /** Bytes, or a docker size string ("512m"). */
  memory?: number | string;
  /** CPUs ("1.5") or nano CPUs as a number of CPUs. */
  cpus?: number | string;
  cpuShares?: number;
  pidsLimit?: number;
  /** SRC:DST[:ro]; SRC is a host path or a volume name. */
  binds?: string[];
  /** Docker's `--mount`: volumes (created here on first use), binds and tmpfs. */
  mounts?: Mount[];
  /** Secrets and configs, mounted read-only. */
  files?: FileMount[];
  /** /PATH[:OPTIONS] */
  tmpfs?: string[];
  readOnly?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  init?: boolean;
  stopSignal?: string;
  stopTimeoutSec?: number;
  labels?: Record<string, string>;
  /** Remove the container once it exits (`run --rm`). */
  autoRemove?: boolean;
  /** Overrides the image's HEALTHCHECK; fields left out (or 0) are inherited from it. */
  healthcheck?: HealthConfig;
  /**
   * Join this network namespace (a path such as /run/netns/NAME) instead of a new empty one:
   * the swarm worker prepares it with the task's overlay interfaces before the process starts.
   */
  netnsPath?: string;
  /** The container's /etc/resolv.conf instead of the host's (the embedded DNS server). */
  resolvConf?: string;
}

export interface MountRecord {
  Type: 'bind' | 'tmpfs' | 'volume';
  /** The volume name, for volumes. */
  Name?: string;
  Source: string;
  Destination: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** Persistent description of a container (container.json), in docker's field names. */
export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  /** "sha256:…" */
  Image: string;
  LayerDirs: string[];
  Config: {
    Hostname: string;
    User: string;
    Env: string[];
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    WorkingDir: string;
    Labels: Record<string, string>;
    StopSignal: string;
    StopTimeout: number | null;
    Image: string;
    /** The check in force: the image's merged with the create options'; absent when none. */
    Healthcheck?: HealthConfig;
  };
  HostConfig: {
    Memory: number;
    NanoCpus: number;
    CpuShares: number;
    PidsLimit: number | null;
    Binds: string[];
    Tmpfs: Record<string, string>;
    ReadonlyRootfs: boolean;
    CapAdd: string[];
    CapDrop: string[];
    Init: boolean;
    AutoRemove: boolean;
    Runtime: string;
    CgroupParent: string;
    /** Network namespace the container joins; absent: a new one of its own. */
    NetnsPath?: string;
  };
  Mounts: MountRecord[];
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Pid: number;
  ExitCode: number;
  OOMKilled: boolean;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Pid of the tsswarm-shim that holds the container's stdio. */
  MonitorPid: number;
  /** Written by whoever runs the container's health check (the worker); docker's shape. */
  Health?: ContainerHealth;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface ContainerHealth {
  Status: HealthStatus;
  FailingStreak: number;
  /** The last 5 probes, oldest first. */
  Log: HealthLogEntry[];
}

export interface ProbeResult {
  exitCode: number;
  /** stdout and stderr together, cut to 4096 bytes as docker does. */
  output: string;
  timedOut: boolean;
}

export interface ContainerInfo {
  record: ContainerRecord;
  state: ContainerState;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds. */
  time: string;
  /** Includes the trailing newline when the line had one. */
  line: string;
}

export interface LogOptions {
  follow?: boolean;
  /** Only the last N lines; all when undefined. */
  tail?: number;
  /** Ends a follow: abort once the container is known to have exited (or to stop early). */
  signal?: AbortSignal;
}

export interface ContainerStats {
  id: string;
  name: string;
  cpuPercent: number;
  memoryUsage: number;
  memoryLimit: number;
  pids: number;
}

export interface ExitResult {
  exitCode: number;
  oomKilled: boolean;
  error?: string;
}
