import type { ConnectionOptions } from 'nats';
import {
  checkServerIdentity,
  type ConnectionOptions as TlsConnectionOptions,
  type PeerCertificate,
} from 'node:tls';
import { managerOu } from '../../ca/index.js';
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
 *
 * The server is verified as a manager of the cluster (SAN swarm-manager) whatever address was
 * dialled: nats.js passes no host to tls.connect for IP URLs, so Node would otherwise check
 * the certificate against "localhost". nats.js hands extra tls fields through to tls.connect.
 */
export function nodeClientOptions(servers: string[], node: NodeClientIdentity): ConnectionOptions {
  const tls: NonNullable<ConnectionOptions['tls']> &
    Pick<TlsConnectionOptions, 'servername' | 'checkServerIdentity'> = {
    ca: node.caPem,
    cert: node.certPem,
    key: node.keyPem,
    servername: managerOu,
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      checkServerIdentity(managerOu, cert),
  };
  return {
    servers,
    name: node.nodeId,
    tls,
    inboxPrefix: subjects.inboxPrefix(node.nodeId),
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  };
}
