import type { NetworkAttachment } from './task.js';
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
  /** host:port of the manager's TLS API (what `swarm join` is given, docker's 2377). */
  Addr: string;
  /** tsswarm: where the other managers reach this one's raft and nats-server. */
  RaftAddr?: string;
  NatsAddr?: string;
  NatsClusterAddr?: string;
}

export interface Node extends Meta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
  /** The node's own addresses on networks (its routing-mesh address on ingress). */
  Attachments?: NetworkAttachment[];
}
