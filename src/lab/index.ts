// The lab's public face: a multi-node cluster on one machine, one network namespace per node.
export {
  healNode,
  killNode,
  listLabs,
  nodeEnv,
  partitionNode,
  startNode,
  type LabNodeStatus,
  type NodeRunState,
} from './lab.js';
export { createLab } from './create-lab.js';
export { removeLab } from './remove-lab.js';
export type { LabContext } from './lab-context.js';
export {
  daemonCommand,
  defaultLabConfig,
  maxLabNodes,
  validateLabConfig,
  type LabConfig,
  type NodeCommand,
} from './lab-config.js';
export { ExecLabHost, type CommandResult, type LabHost, type ProcessRef } from './lab-host.js';
export { launchNode, type NodeLaunch } from './launcher.js';
export { detectCgroupRoot, type CgroupRoot } from './cgroups.js';
export { readLabState, labDir, type LabNode, type LabState } from './lab-state.js';
export { formatLabList } from './format.js';
export { defaultLabSubnet, parseLabSubnet, nodeAddresses } from './subnet.js';
export { hubNetnsName, labObjectName, labObjectPattern, validateLabName } from './names.js';
