import {
  serviceModeKind,
  type Node,
  type Service,
  type ServiceStatus,
  type Task,
} from '../../api/index.js';
import { satisfiesConstraints } from './task-facts.js';

/**
 * What `service ls` shows as REPLICAS (`running/desired`), counted as swarm does: running
 * tasks that are meant to run, on nodes that are not down; desired from the mode (for global
 * services, the nodes that may run one).
 */
export function serviceStatus(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
): ServiceStatus {
  const kind = serviceModeKind(service.Spec.Mode);
  const up = (t: Task): boolean => nodes.get(t.NodeID)?.Status.State !== 'down';
  const iteration = service.JobStatus?.JobIteration.Index ?? 0;
  const ofIteration = (t: Task): boolean => (t.JobIteration?.Index ?? 0) === iteration;
  const running = tasks.filter(
    (t) =>
      t.Status.State === 'running' &&
      (t.DesiredState === 'running' || t.DesiredState === 'complete') &&
      up(t) &&
      (kind === 'replicated' || kind === 'global' || ofIteration(t)),
  ).length;
  const completed =
    kind === 'replicated-job' || kind === 'global-job'
      ? tasks.filter((t) => t.Status.State === 'complete' && ofIteration(t)).length
      : 0;
  const eligible = [...nodes.values()].filter(
    (n) =>
      n.Spec.Availability === 'active' &&
      n.Status.State !== 'down' &&
      satisfiesConstraints(service.Spec.TaskTemplate.Placement?.Constraints, n),
  ).length;
  let desired: number;
  if (kind === 'replicated') desired = service.Spec.Mode.Replicated?.Replicas ?? 1;
  else if (kind === 'global') desired = eligible;
  else if (kind === 'replicated-job') {
    const m = service.Spec.Mode.ReplicatedJob ?? {};
    const max = Math.max(1, m.MaxConcurrent ?? 1);
    desired = Math.min(max, Math.max(0, (m.TotalCompletions ?? max) - completed));
  } else desired = Math.max(0, eligible - completed);
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}
