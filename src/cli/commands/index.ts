import type { Command } from 'commander';
import { registerImageCommands } from './image.js';
import { registerContainerCommands } from './container.js';
import { registerStackCommands } from './stack.js';
import { registerDaemonCommands } from './daemon.js';
import { registerSwarmCommands } from './swarm.js';
import { registerServiceCommands } from './service.js';
import { registerNodeCommands } from './node.js';
import { registerStackDeployCommands } from './stack-deploy.js';
import { registerLabCommands } from './lab.js';
import { registerNetworkCommands } from './network.js';
import { registerVolumeCommands } from './volume.js';
import { registerSecretConfigCommands } from './secret-config.js';

/**
 * Each command group lives in its own file and registers its verbs here. A group's action
 * handlers import their heavy modules dynamically (`await import(...)`), so `tsswarm run`
 * does not load the compose loader or the raft library.
 */
export function registerCommands(program: Command): void {
  registerContainerCommands(program);
  registerImageCommands(program);
  registerStackCommands(program);
  registerDaemonCommands(program);
  registerSwarmCommands(program);
  registerServiceCommands(program);
  registerNodeCommands(program);
  registerStackDeployCommands(program);
  registerLabCommands(program);
  registerNetworkCommands(program);
  registerVolumeCommands(program);
  registerSecretConfigCommands(program);
}
