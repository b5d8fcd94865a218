import {
  ErrorCode,
  invalidArgument,
  NS_PER_SECOND,
  TsswarmError,
  type HealthConfig,
  type Task,
} from '../api/index.js';
import type { HealthState, ProbeOutcome } from './health-monitor.js';
import type { WorkerFiles } from './worker-files.js';
import type { ContainerRuntime, CreateOptions } from '../runtime/index.js';
import { taskLabels, type ContainerExit, type Executor, type TaskContainer } from './executor.js';

/** The worker's executor over the local container runtime. */
export class RuntimeExecutor implements Executor {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly nodeId: string,
    /** Named in errors that depend on this node (a bind source missing here). */
    private readonly nodeName: string = nodeId,
    private readonly files?: WorkerFiles,
  ) {}

  async list(): Promise<TaskContainer[]> {
    const infos = await this.runtime.list({
      all: true,
      labels: { [taskLabels.nodeId]: this.nodeId },
    });
    return infos.map((i) => ({
      id: i.record.Id,
      taskId: i.record.Config.Labels[taskLabels.taskId] ?? '',
      running: i.state.Running,
      pid: i.state.Pid,
      exitCode: i.state.ExitCode,
    }));
  }

  /** `network`: the namespace and resolv.conf the worker prepared for the task's networks. */
  async create(
    task: Task,
    network?: Pick<CreateOptions, 'netnsPath' | 'resolvConf'>,
  ): Promise<string> {
    const o = { ...containerOptions(task, this.nodeId), ...network };
    const refs =
      (task.Spec.ContainerSpec.Secrets?.length ?? 0) +
      (task.Spec.ContainerSpec.Configs?.length ?? 0);
    if (refs > 0) {
      if (!this.files) throw invalidArgument('this worker cannot mount secrets or configs');
      o.files = this.files.mountsFor(task);
    }
    try {
      return await this.runtime.create(o);
    } catch (err) {
      if (err instanceof TsswarmError && err.code === ErrorCode.InvalidArgument) {
        throw new TsswarmError(err.code, `${err.message} (on node ${this.nodeName})`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  async start(containerId: string): Promise<number> {
    await this.runtime.start(containerId);
    const info = await this.runtime.inspect(containerId);
    return info.state.Pid;
  }

  async wait(containerId: string, signal: AbortSignal): Promise<ContainerExit> {
    const r = await this.runtime.wait(containerId, signal);
    return r.error ? { exitCode: r.exitCode, error: r.error } : { exitCode: r.exitCode };
  }

  stop(containerId: string, timeoutSec: number): Promise<void> {
    return this.runtime.stop(containerId, timeoutSec);
  }

  remove(containerId: string): Promise<void> {
    return this.runtime.remove(containerId, { force: true });
  }

  async healthcheck(containerId: string): Promise<HealthConfig | undefined> {
    return (await this.runtime.inspect(containerId)).record.Config.Healthcheck;
  }

  probe(containerId: string, cmd: string[], timeoutMs: number): Promise<ProbeOutcome> {
    return this.runtime.probe(containerId, cmd, { timeoutMs });
  }

  setHealth(containerId: string, health: HealthState | undefined): void {
    try {
      this.runtime.setHealth(containerId, health);
    } catch {
      // the container is being removed
    }
  }
}

/** A task's ContainerSpec as runtime create options (what dockerd's swarm executor does). */
export function containerOptions(task: Task, nodeId: string): CreateOptions {
  const c = task.Spec.ContainerSpec;
  const limits = task.Spec.Resources?.Limits;
  const serviceName = (task.Name ?? '').split('.')[0] ?? '';
  const labels: Record<string, string> = {
    ...(c.Labels ?? {}),
    [taskLabels.serviceId]: task.ServiceID,
    [taskLabels.serviceName]: serviceName,
    [taskLabels.taskId]: task.ID,
    [taskLabels.taskName]: task.Name ?? task.ID,
    [taskLabels.slot]: String(task.Slot),
    [taskLabels.nodeId]: nodeId,
  };
  const o: CreateOptions = { image: c.Image, labels };
  if (task.Name) o.name = task.Name;
  if (c.Command && c.Command.length > 0) o.entrypoint = c.Command;
  if (c.Args && c.Args.length > 0) o.cmd = c.Args;
  if (c.Env) o.env = c.Env;
  if (c.Dir) o.workingDir = c.Dir;
  if (c.User) o.user = c.User;
  if (c.Hostname) o.hostname = c.Hostname;
  if (c.ReadOnly) o.readOnly = true;
  if (c.Init) o.init = true;
  if (c.StopSignal) o.stopSignal = c.StopSignal;
  if (c.StopGracePeriod !== undefined) o.stopTimeoutSec = c.StopGracePeriod / NS_PER_SECOND;
  if (c.CapabilityAdd) o.capAdd = c.CapabilityAdd;
  if (c.CapabilityDrop) o.capDrop = c.CapabilityDrop;
  if (limits?.MemoryBytes) o.memory = limits.MemoryBytes;
  if (limits?.NanoCPUs) o.cpus = String(limits.NanoCPUs / NS_PER_SECOND);
  if (limits?.Pids) o.pidsLimit = limits.Pids;
  if (c.Healthcheck) o.healthcheck = c.Healthcheck;
  if (c.Mounts && c.Mounts.length > 0) o.mounts = c.Mounts;
  return o;
}
