import type { ConnectionOptions, PeerCertificate, TLSSocket, TlsOptions } from 'node:tls';
import { checkServerIdentity } from 'node:tls';
import {
  managerOu,
  parseNodeIdentity,
  type NodeRole,
  type ParsedIdentity,
} from './node-identity.js';

/** A node's TLS material: the cluster CA and its own certificate and key. */
export interface NodeCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Server side of mutual TLS between nodes (raft, API on :2377): only certificates of the
 * cluster CA get in; who they are is read from the certificate with `peerIdentity`.
 */
export function mutualTlsServerOptions(creds: NodeCredentials): TlsOptions {
  return {
    ca: creds.caPem,
    cert: creds.certPem,
    key: creds.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Client side: dial a peer by address and verify it by name. `peer: 'manager'` accepts any
 * manager of the cluster (SAN swarm-manager); a node id accepts exactly that node.
 */
export function mutualTlsClientOptions(
  creds: NodeCredentials,
  peer: 'manager' | { nodeId: string },
): ConnectionOptions {
  const servername = peer === 'manager' ? managerOu : peer.nodeId.toLowerCase();
  return {
    ca: creds.caPem,
    cert: creds.certPem,
    key: creds.keyPem,
    servername,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    // Node checks the name against the address we dialled unless told which name to expect.
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      checkServerIdentity(servername, cert),
  };
}

/** Who is on the other end of an authorised TLS socket, from its certificate's subject. */
export function peerIdentity(socket: TLSSocket): ParsedIdentity {
  if (!socket.authorized) {
    return {
      ok: false,
      message: `peer not authorised: ${String(socket.authorizationError ?? 'no certificate')}`,
    };
  }
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return { ok: false, message: 'peer presented no certificate' };
  return parseNodeIdentity(cert.toString());
}

export function hasRole(identity: ParsedIdentity, role: NodeRole): boolean {
  return identity.ok && identity.identity.role === role;
}
