export {
  AddressBook,
  allocateEndpoint,
  allocateNodeIngress,
  nodeIngressPending,
  createNetwork,
  INGRESS_NETWORK_NAME,
  networkAllocation,
  OVERLAY_DRIVER,
  removeNetwork,
  resolveNetwork,
  resolveServiceNetworks,
  serviceNetworkIds,
  taskAttachments,
  VXLAN_ID_OPTION,
  type NetworkAllocation,
} from './allocator.js';
export {
  AddressSpace,
  allocateSubnet,
  formatCidr,
  formatIp,
  overlaps,
  parseCidr,
  parseIp,
  type Cidr,
} from './ipam.js';
export { withAllocationLock } from './allocation-lock.js';
