import type { Driver, Labels, Meta } from './meta.js';

export interface IPAMConfig {
  Subnet?: string;
  Range?: string;
  Gateway?: string;
}

export interface IPAMOptions {
  Driver: Driver;
  Configs: IPAMConfig[];
}

export interface NetworkSpec {
  Name: string;
  Labels?: Labels;
  DriverConfiguration?: Driver;
  IPv6Enabled?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  /** The routing-mesh network (one per cluster). */
  Ingress?: boolean;
  IPAMOptions?: { Driver?: Driver; Configs?: IPAMConfig[] };
  Scope?: 'swarm';
}

export interface Network extends Meta {
  Spec: NetworkSpec;
  /** Driver options chosen at allocation, e.g. the VXLAN id. */
  DriverState?: Driver;
  /** What the allocator actually assigned (subnets, gateways). */
  IPAMOptions?: IPAMOptions;
}
