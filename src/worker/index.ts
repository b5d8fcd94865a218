export { Agent, type AgentConfig } from './agent.js';
export { Worker } from './worker.js';
export { TaskController, type StatusReporter } from './task-controller.js';
export { AssignmentTracker, type TrackResult } from './assignment-tracker.js';
export { RuntimeExecutor, containerOptions } from './runtime-executor.js';
export { taskLabels, type Executor, type TaskContainer, type ContainerExit } from './executor.js';
export { NetworkedExecutor } from './networked-executor.js';
export { TaskNetworks, macOf, type PreparedNetworks } from './task-networks.js';
export { WorkerFiles } from './worker-files.js';
