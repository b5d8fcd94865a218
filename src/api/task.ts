import type { DurationNs, Labels, Meta, Timestamp } from './meta.js';
import type { Network } from './network.js';
import type { TaskSpec } from './service.js';
import { checkTaskTransition, type DesiredTaskState, type TaskState } from './task-state.js';
import type { Endpoint, PortConfig } from './service.js';

export interface ContainerStatus {
  ContainerID?: string;
  PID?: number;
  ExitCode?: number;
}

export interface TaskStatus {
  Timestamp: Timestamp;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: ContainerStatus;
  PortStatus?: { Ports?: PortConfig[] };
}

export interface NetworkAttachment {
  Network: Network;
  /** CIDR form, e.g. `10.0.1.5/24`. */
  Addresses: string[];
}

export interface Task extends Meta {
  Name?: string;
  Labels?: Labels;
  Spec: TaskSpec;
  ServiceID: string;
  /** 1..N for replicated services; 0 for global ones (one per node). */
  Slot: number;
  /** Empty until the scheduler assigns the task. */
  NodeID: string;
  Status: TaskStatus;
  DesiredState: DesiredTaskState;
  /** Copied from the service when the task is made: the scheduler checks host-mode ports. */
  Endpoint?: Endpoint;
  NetworksAttachments?: NetworkAttachment[];
  /** Version.Index of the service spec this task was made from (drives rolling updates). */
  SpecVersion?: { Index: number };
  JobIteration?: { Index: number };
  /** When the restart supervisor may start this task (delay of the restart policy). */
  RestartAt?: Timestamp;
  /** For restart policy windows: how long the previous task of the slot ran. */
  RunDuration?: DurationNs;
}

/** `<service name>.<slot or node id>.<task id>`, as Docker names task containers. */
export function taskName(serviceName: string, task: Pick<Task, 'ID' | 'Slot' | 'NodeID'>): string {
  const middle = task.Slot > 0 ? String(task.Slot) : task.NodeID;
  return `${serviceName}.${middle}.${task.ID}`;
}

export type TaskStatusChange = { ok: true; task: Task } | { ok: false; reason: string };

/**
 * A status report (from a worker) applied to a task: refused when it would move the state
 * backwards or out of a terminal state, so a late or replayed report cannot undo progress.
 */
export function advanceTaskStatus(task: Task, status: TaskStatus): TaskStatusChange {
  const check = checkTaskTransition(task.Status.State, status.State);
  if (!check.ok) return { ok: false, reason: `task ${task.ID}: ${check.reason}` };
  return { ok: true, task: { ...task, Status: status } };
}
