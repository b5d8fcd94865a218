export {
  Dispatcher,
  defaultDispatcherConfig,
  validateDispatcherConfig,
  type DispatcherConfig,
  type DispatcherOptions,
} from './dispatcher.js';
export {
  AssignmentStream,
  filesUsedBy,
  isAssignedTo,
  type FileKind,
  type FileLoader,
} from './assignment-stream.js';
export type { Bus, BusMessage } from './bus.js';
export { encodeJson, decodeJson } from './bus.js';
export { natsBus } from './nats-bus.js';
