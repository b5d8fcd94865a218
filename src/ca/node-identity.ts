import { invalidArgument } from '../api/errors.js';
import { x509 } from './x509-provider.js';

export type NodeRole = 'manager' | 'worker';

/** Who a node certificate speaks for; the subject is the only source of it (as in swarmkit). */
export interface NodeIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

// Swarmkit's organisational units: the role travels in OU, the cluster in O, the node in CN.
export const managerOu = 'swarm-manager';
export const workerOu = 'swarm-worker';

export function roleToOu(role: NodeRole): string {
  return role === 'manager' ? managerOu : workerOu;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Ids end up inside distinguished names and NATS subjects (where '.' separates tokens), so only a safe alphabet passes. */
export function checkId(value: string, where: string): void {
  if (!idPattern.test(value)) {
    throw invalidArgument(
      `${where} ${JSON.stringify(value)}: use 1-128 letters, digits, '_', '-', starting with a letter or digit`,
    );
  }
}

export type ParsedIdentity = { ok: true; identity: NodeIdentity } | { ok: false; message: string };

/** Reads CN/OU/O from a node certificate; a certificate that is not a node's gives a value, not a throw. */
export function parseNodeIdentity(certPem: string): ParsedIdentity {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (e) {
    return { ok: false, message: `not a PEM certificate: ${(e as Error).message}` };
  }
  const name = cert.subjectName;
  const one = (field: string): string | undefined => {
    const values = name.getField(field);
    return values.length === 1 ? values[0] : undefined;
  };
  const nodeId = one('CN');
  const ou = one('OU');
  const clusterId = one('O');
  if (nodeId === undefined || ou === undefined || clusterId === undefined) {
    return { ok: false, message: `subject "${cert.subject}" lacks exactly one CN, OU and O` };
  }
  let role: NodeRole;
  if (ou === managerOu) role = 'manager';
  else if (ou === workerOu) role = 'worker';
  else return { ok: false, message: `subject OU "${ou}" is neither ${managerOu} nor ${workerOu}` };
  return { ok: true, identity: { nodeId, role, clusterId } };
}
