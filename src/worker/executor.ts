import type { HealthConfig, Task } from '../api/index.js';
import type { HealthState, ProbeOutcome } from './health-monitor.js';

/** A container of a task as the worker finds it on this node. */
export interface TaskContainer {
  id: string;
  taskId: string;
  running: boolean;
  pid: number;
  exitCode: number;
}

export interface ContainerExit {
  exitCode: number;
  error?: string;
}

/**
 * What a task controller needs from the container runtime (swarmkit's executor, reduced).
 * `runtime-executor.ts` backs it with ContainerRuntime; unit tests use a fake.
 */
export interface Executor {
  /** Containers labelled as tasks of this node, running or not. */
  list(): Promise<TaskContainer[]>;
  create(task: Task): Promise<string>;
  /** Starts the container; resolves with the container's pid once it runs. */
  start(containerId: string): Promise<number>;
  wait(containerId: string, signal: AbortSignal): Promise<ContainerExit>;
  stop(containerId: string, timeoutSec: number): Promise<void>;
  remove(containerId: string): Promise<void>;
  /** The health check in force for the container (its spec's over its image's), if any. */
  healthcheck?(containerId: string): Promise<HealthConfig | undefined>;
  /** Runs one health probe inside the container. */
  probe?(containerId: string, cmd: string[], timeoutMs: number): Promise<ProbeOutcome>;
  /** Records the container's health where `ps` and `inspect` read it. */
  setHealth?(containerId: string, health: HealthState | undefined): void;
}

/** Labels docker puts on a task's container; `service ps`, adoption and leave use them. */
export const taskLabels = {
  serviceId: 'com.docker.swarm.service.id',
  serviceName: 'com.docker.swarm.service.name',
  taskId: 'com.docker.swarm.task.id',
  taskName: 'com.docker.swarm.task.name',
  slot: 'com.docker.swarm.task.slot',
  nodeId: 'com.docker.swarm.node.id',
} as const;
