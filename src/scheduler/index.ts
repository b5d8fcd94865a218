export {
  schedule,
  type Assignment,
  type SchedulerInput,
  type SchedulingPlan,
  type Unplaceable,
} from './scheduler.js';
export {
  defaultFilters,
  AvailabilityFilter,
  ConstraintFilter,
  CpuFilter,
  HostPortFilter,
  MaxReplicasFilter,
  MemoryFilter,
  PlatformFilter,
  ReadyFilter,
  type Filter,
} from './filter.js';
export { Pipeline } from './pipeline.js';
export { buildNodeInfos, constraintSubject, type NodeInfo } from './node-info.js';
export { seededRandom } from './random.js';
