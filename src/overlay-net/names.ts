import { createHash } from 'node:crypto';

/** Eight hex digits derived from ids, so names stay within the kernel's 15-character limit. */
export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

export const bridgeName = (prefix: string, networkId: string): string =>
  `${prefix}b${shortHash(networkId)}`;
export const vxlanName = (prefix: string, networkId: string): string =>
  `${prefix}x${shortHash(networkId)}`;
export const vethHostName = (prefix: string, networkId: string, endpointId: string): string =>
  `${prefix}v${shortHash(networkId, endpointId)}`;
/** The container end's name until it is moved and renamed inside the container. */
export const vethPeerTempName = (prefix: string, networkId: string, endpointId: string): string =>
  `${prefix}p${shortHash(networkId, endpointId)}`;

export const networkTableName = (prefix: string, networkId: string): string =>
  `${prefix}-net-${shortHash(networkId)}`;
export const ingressTableName = (prefix: string): string => `${prefix}-ingress`;
/** The table inside a container's namespace: VIP DNAT and the DNS redirect. */
export const endpointTableName = (prefix: string): string => `${prefix}-ep`;

/** Matches every device this library makes under the prefix, and nothing else. */
export const ownedDeviceRe = (prefix: string): RegExp => new RegExp(`^${prefix}[bxvp][0-9a-f]{8}$`);
export const ownedTableRe = (prefix: string): RegExp => new RegExp(`^${prefix}-`);
