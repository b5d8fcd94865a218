import type { Driver, DurationNs, Labels, Meta, Platform, Timestamp } from './meta.js';

export type MountType = 'bind' | 'volume' | 'tmpfs';
export type BindPropagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

export interface Mount {
  Type: MountType;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: BindPropagation; NonRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Labels; DriverConfig?: Driver };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HealthConfig {
  /** `[]` inherit, `["NONE"]` disable, `["CMD", …]` exec, `["CMD-SHELL", "…"]` via sh -c. */
  Test?: string[];
  Interval?: DurationNs;
  Timeout?: DurationNs;
  Retries?: number;
  StartPeriod?: DurationNs;
  StartInterval?: DurationNs;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface FileTarget {
  Name: string;
  UID: string;
  GID: string;
  Mode: number;
}

export interface SecretReference {
  File: FileTarget;
  SecretID: string;
  SecretName: string;
}

export interface ConfigReference {
  File: FileTarget;
  ConfigID: string;
  ConfigName: string;
}

export interface ContainerSpec {
  Image: string;
  Labels?: Labels;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  /** `KEY=value` strings, in order. */
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  StopSignal?: string;
  StopGracePeriod?: DurationNs;
  Healthcheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Secrets?: SecretReference[];
  Configs?: ConfigReference[];
  Init?: boolean;
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: Ulimit[];
}

export interface ResourceLimits {
  NanoCPUs?: number;
  MemoryBytes?: number;
  Pids?: number;
}

export interface ResourceReservations {
  NanoCPUs?: number;
  MemoryBytes?: number;
}

export interface ResourceRequirements {
  Limits?: ResourceLimits;
  Reservations?: ResourceReservations;
}

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface RestartPolicy {
  Condition?: RestartCondition;
  Delay?: DurationNs;
  /** 0 means unlimited, as in Docker. */
  MaxAttempts?: number;
  /** 0 means attempts are counted over the whole life of the slot. */
  Window?: DurationNs;
}

export interface PlacementPreference {
  Spread: { SpreadDescriptor: string };
}

export interface Placement {
  Constraints?: string[];
  Preferences?: PlacementPreference[];
  /** 0 means unlimited. */
  MaxReplicas?: number;
  Platforms?: Platform[];
}

export interface NetworkAttachmentConfig {
  /** Network ID or name. */
  Target: string;
  Aliases?: string[];
  DriverOpts?: Record<string, string>;
}

export interface TaskSpec {
  ContainerSpec: ContainerSpec;
  Resources?: ResourceRequirements;
  RestartPolicy?: RestartPolicy;
  Placement?: Placement;
  Networks?: NetworkAttachmentConfig[];
  LogDriver?: Driver;
  /** Bumped to force a rolling update without another change. */
  ForceUpdate?: number;
  Runtime?: string;
}

/** Exactly one key is set, as in Docker's API. */
export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export type FailureAction = 'continue' | 'pause' | 'rollback';
export type UpdateOrder = 'stop-first' | 'start-first';

export interface UpdateConfig {
  Parallelism?: number;
  Delay?: DurationNs;
  FailureAction?: FailureAction;
  Monitor?: DurationNs;
  MaxFailureRatio?: number;
  Order?: UpdateOrder;
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';
export type PublishMode = 'ingress' | 'host';

export interface PortConfig {
  Name?: string;
  Protocol?: PortProtocol;
  TargetPort: number;
  /** 0 or absent: the allocator picks one (ingress) or none (host). */
  PublishedPort?: number;
  PublishMode?: PublishMode;
}

export type ResolutionMode = 'vip' | 'dnsrr';

export interface EndpointSpec {
  Mode?: ResolutionMode;
  Ports?: PortConfig[];
}

export interface ServiceSpec {
  Name: string;
  Labels?: Labels;
  TaskTemplate: TaskSpec;
  Mode: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: EndpointSpec;
}

export interface EndpointVirtualIP {
  NetworkID: string;
  /** CIDR form, e.g. `10.0.0.2/24`. */
  Addr: string;
}

export interface Endpoint {
  Spec: EndpointSpec;
  Ports?: PortConfig[];
  VirtualIPs?: EndpointVirtualIP[];
}

export type UpdateState =
  | 'updating'
  | 'paused'
  | 'completed'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed';

export interface UpdateStatus {
  State: UpdateState;
  StartedAt?: Timestamp;
  CompletedAt?: Timestamp;
  Message?: string;
}

export interface ServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

export interface JobStatus {
  JobIteration: { Index: number };
  LastExecution?: Timestamp;
}

export interface Service extends Meta {
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint?: Endpoint;
  UpdateStatus?: UpdateStatus;
  /** Filled by the API on request (`--status`), never stored. */
  ServiceStatus?: ServiceStatus;
  JobStatus?: JobStatus;
}

export type ServiceModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

/** Which of the exclusive mode keys is set; replicated when none is, as Docker defaults. */
export function serviceModeKind(mode: ServiceMode): ServiceModeKind {
  if (mode.Global) return 'global';
  if (mode.ReplicatedJob) return 'replicated-job';
  if (mode.GlobalJob) return 'global-job';
  return 'replicated';
}

/** Docker's defaults, used where a spec leaves a field out. */
export const DEFAULT_RESTART_DELAY_NS = 5_000_000_000;
export const DEFAULT_STOP_GRACE_PERIOD_NS = 10_000_000_000;

export function defaultRestartPolicy(): Required<RestartPolicy> {
  return { Condition: 'any', Delay: DEFAULT_RESTART_DELAY_NS, MaxAttempts: 0, Window: 0 };
}

export function defaultUpdateConfig(): Required<UpdateConfig> {
  return {
    Parallelism: 1,
    Delay: 0,
    FailureAction: 'pause',
    Monitor: 5_000_000_000,
    MaxFailureRatio: 0,
    Order: 'stop-first',
  };
}
