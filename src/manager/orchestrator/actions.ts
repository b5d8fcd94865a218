import type { DesiredTaskState } from '../../api/index.js';

/**
 * What a reconcile pass asks the manager to write. The pure functions decide; the manager's
 * orchestrator loop turns actions into one store transaction (ids and timestamps from there).
 */
export type OrchestratorAction =
  | {
      type: 'create-task';
      serviceId: string;
      /** 1..N for replicated services, 0 for global ones. */
      slot: number;
      /** Set for global services (the node is the slot); empty for the scheduler to fill. */
      nodeId: string;
      /** `ready` while a restart delay runs; a later pass moves it on (`complete` for jobs). */
      desiredState: 'running' | 'complete' | 'ready';
      /** Epoch ms: when a restarted task may start (present only on restarts). */
      restartAtMs?: number;
      reason: string;
    }
  | { type: 'set-desired-state'; taskId: string; desiredState: DesiredTaskState; reason: string }
  | { type: 'delete-task'; taskId: string; reason: string };

export interface ReconcileResult {
  actions: OrchestratorAction[];
  /** Epoch ms at which another pass is due (a restart delay ends), if any. */
  nextWakeMs?: number;
}
