export {
  defaultNatsServerConfig,
  validateNatsServerConfig,
  renderNatsConfig,
  natsUserName,
  natsPermissions,
} from './nats-config.js';
export type { NatsServerConfig, NatsPermissions, HostPort } from './nats-config.js';
export {
  NatsSupervisor,
  defaultNatsSupervisorConfig,
  validateNatsSupervisorConfig,
} from './nats-supervisor.js';
export type {
  NatsSupervisorConfig,
  NatsSupervisorEvent,
  NatsSupervisorOptions,
  NatsSupervisorState,
} from './nats-supervisor.js';
export { realNatsHost, findNatsServer, monitorUrl } from './nats-host.js';
export type { NatsHost, NatsChild, ChildExit } from './nats-host.js';
export { subjects, subjectRoot } from './subjects.js';
export type { NodeTopic, DispatcherTopic } from './subjects.js';
export { nodeClientOptions } from './client-options.js';
export type { NodeClientIdentity } from './client-options.js';
