// The container runtime's public face.
export { ContainerRuntime, type OpenOptions } from './container-runtime.js';
export {
  defaultRuntimeConfig,
  validateRuntimeConfig,
  type RuntimeConfig,
} from './runtime-config.js';
export { findMonitorBinary } from './binaries.js';
export { mergeHealthcheck } from './merge-healthcheck.js';
export type { ExecOptions, ExecProcess } from './container-exec.js';
export type { Attachment, StartOptions } from './start-container.js';
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
