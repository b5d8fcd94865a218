import type { PublishMode } from './ingress-rules.js';

/** A claim on a published port: by a service's spec, or by a task placed on a node (host mode). */
export interface PortClaim {
  serviceId: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  publishedPort: number;
  mode: PublishMode;
  /** Host mode, once placed: the node and task that hold the port. */
  nodeId?: string;
  taskId?: string;
}

export interface PortConflict {
  protocol: PortClaim['protocol'];
  publishedPort: number;
  claims: [PortClaim, PortClaim];
  reason: 'ingress-taken' | 'duplicate-in-service' | 'host-taken-on-node';
}

/**
 * Which claims cannot stand together. Ingress ports are taken on every node, so they clash
 * with any other service's claim on the same protocol and port; host ports clash only on the
 * same node. The manager calls this before it commits a service spec or a placement.
 */
export function findPortConflicts(claims: readonly PortClaim[]): PortConflict[] {
  const byKey = new Map<string, PortClaim[]>();
  for (const c of claims) {
    const k = `${c.protocol}/${c.publishedPort}`;
    byKey.set(k, [...(byKey.get(k) ?? []), c]);
  }
  const out: PortConflict[] = [];
  for (const group of byKey.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = group[i] as PortClaim;
        const b = group[j] as PortClaim;
        const reason = conflictReason(a, b);
        if (reason) {
          out.push({
            protocol: a.protocol,
            publishedPort: a.publishedPort,
            claims: [a, b],
            reason,
          });
        }
      }
    }
  }
  return out;
}

function conflictReason(a: PortClaim, b: PortClaim): PortConflict['reason'] | undefined {
  const sameService = a.serviceId === b.serviceId;
  const placed = a.nodeId !== undefined && b.nodeId !== undefined;
  if (a.mode === 'ingress' || b.mode === 'ingress') {
    if (!sameService) return 'ingress-taken';
    return !placed ? 'duplicate-in-service' : undefined;
  }
  if (placed) {
    if (a.nodeId !== b.nodeId) return undefined;
    if (a.taskId !== undefined && a.taskId === b.taskId) return undefined;
    return 'host-taken-on-node';
  }
  if (sameService && a.nodeId === undefined && b.nodeId === undefined)
    return 'duplicate-in-service';
  return undefined;
}
