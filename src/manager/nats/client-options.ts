import type { ConnectionOptions } from 'nats';
import { subjects } from './subjects.js';

export interface NodeClientIdentity {
  nodeId: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * nats.js options for a node's connection: mutual TLS with its node certificate and inboxes
 * under its own prefix, which is all a worker's permissions let it read replies on.
 */
export function nodeClientOptions(servers: string[], node: NodeClientIdentity): ConnectionOptions {
  return {
    servers,
    name: node.nodeId,
    tls: { ca: node.caPem, cert: node.certPem, key: node.keyPem },
    inboxPrefix: subjects.inboxPrefix(node.nodeId),
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  };
}
