import type { Service, Task } from '../../api/index.js';
import type { OrchestratorAction } from './actions.js';

/**
 * The task a `create-task` action stands for. Pure: the caller supplies the id and the time
 * (from the store transaction), so replaying the same inputs gives the same task.
 */
export function newTask(
  service: Service,
  action: OrchestratorAction & { type: 'create-task' },
  id: string,
  now: string,
): Omit<Task, 'Version' | 'CreatedAt' | 'UpdatedAt'> {
  const endpoint =
    service.Endpoint ??
    (service.Spec.EndpointSpec ? { Spec: service.Spec.EndpointSpec } : undefined);
  return {
    ID: id,
    ServiceID: service.ID,
    Slot: action.slot,
    NodeID: action.nodeId,
    Spec: service.Spec.TaskTemplate,
    SpecVersion: { Index: service.Version.Index },
    Status: { Timestamp: now, State: 'new', Message: 'created' },
    DesiredState: action.desiredState,
    ...(service.Spec.Labels ? { Labels: service.Spec.Labels } : {}),
    ...(endpoint ? { Endpoint: endpoint } : {}),
    ...(service.JobStatus ? { JobIteration: { Index: service.JobStatus.JobIteration.Index } } : {}),
    ...(action.restartAtMs === undefined
      ? {}
      : { RestartAt: new Date(action.restartAtMs).toISOString() }),
  };
}
