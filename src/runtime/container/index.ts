// The container runtime's public face.
export {
  ContainerRuntime,
  defaultRuntimeConfig,
  validateRuntimeConfig,
  findMonitorBinary,
  mergeHealthcheck,
  type Attachment,
  type ExecOptions,
  type ExecProcess,
  type OpenOptions,
  type RuntimeConfig,
  type StartOptions,
} from './container-runtime.js';
export { imageInUse } from './in-use.js';
export type { ImageSource } from './image-source.js';
export type { ContainerHost } from './host.js';
export { detectCgroups, type CgroupLayout } from './cgroups.js';
export type {
  ContainerInfo,
  ContainerRecord,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  CreateOptions,
  ExitResult,
  FileMount,
  LogEntry,
  LogOptions,
  MountRecord,
  ContainerHealth,
  HealthLogEntry,
  HealthStatus,
  ProbeResult,
} from './types.js';
export type { VolumeRecord } from './volume-store.js';
