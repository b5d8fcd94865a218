export { Daemon, nodeDescription, type LocalNodeState } from './daemon.js';
export { defaultDaemonConfig, validateDaemonConfig, type DaemonConfig } from './daemon-config.js';
export { startApiServer } from './api-server.js';
export { runDaemon } from './run-daemon.js';
