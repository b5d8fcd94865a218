export type { OrchestratorAction, ReconcileResult } from './actions.js';
export { reconcileReplicated, type ReplicatedInput } from './replicated.js';
export { reconcileGlobal, type GlobalInput } from './global.js';
export { reconcileReplicatedJob, reconcileGlobalJob, type JobInput } from './jobs.js';
export { planUpdate, isUpToDate, type UpdateInput, type UpdatePlan } from './update.js';
export { tasksToReap, type ReaperInput } from './reaper.js';
export { decideRestart, type RestartDecision } from './restart.js';
export { newTask } from './new-task.js';
export { isLive, hasExited } from './task-facts.js';
