import type { Labels, Meta, Platform } from './meta.js';

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface NodeSpec {
  Name?: string;
  Labels: Labels;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface NodeResources {
  NanoCPUs: number;
  MemoryBytes: number;
}

export interface NodeDescription {
  Hostname: string;
  Platform: Platform;
  Resources: NodeResources;
  Engine: {
    EngineVersion?: string;
    Labels: Labels;
  };
}

export interface NodeStatus {
  State: NodeState;
  Message?: string;
  Addr: string;
}

export interface ManagerStatus {
  Leader: boolean;
  Reachability: Reachability;
  /** host:port of the manager's raft/API endpoint. */
  Addr: string;
}

export interface Node extends Meta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
}
