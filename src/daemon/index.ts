export { Daemon, type LocalNodeState } from './daemon.js';
export { nodeDescription } from './node-description.js';
export { defaultDaemonConfig, validateDaemonConfig, type DaemonConfig } from './daemon-config.js';
export { startApiServer } from './api-server.js';
export { runDaemon } from './run-daemon.js';
