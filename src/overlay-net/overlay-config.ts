import { invalidArgument } from '../api/errors.js';

export interface UpstreamResolver {
  host: string;
  port: number;
}

/** Node-wide settings of the overlay machinery. */
export interface OverlayConfig {
  /** Starts every device and nft table name made on this node, so lab nodes never collide. */
  prefix: string;
  /** UDP port of VXLAN between nodes. */
  vxlanPort: number;
  /** MTU of the node's underlay; overlay devices get 50 less for the VXLAN header. */
  underlayMtu: number;
  /** Port the embedded DNS server listens on at each network's gateway address. */
  dnsPort: number;
  /** Where names that are not services go (the node's own resolvers). */
  dnsUpstreams: UpstreamResolver[];
  dnsUpstreamTimeoutMs: number;
}

export function defaultOverlayConfig(): OverlayConfig {
  return {
    prefix: 'tsw',
    vxlanPort: 4789,
    underlayMtu: 1500,
    dnsPort: 53,
    dnsUpstreams: [],
    dnsUpstreamTimeoutMs: 2000,
  };
}

const PREFIX_RE = /^[a-z][a-z0-9]{0,4}$/;

export function validateOverlayConfig(c: OverlayConfig): OverlayConfig {
  if (!PREFIX_RE.test(c.prefix)) {
    throw invalidArgument(
      `overlay config: prefix ${JSON.stringify(c.prefix)} must be 1-5 lowercase letters or digits, starting with a letter (device names are limited to 15 characters)`,
    );
  }
  const port = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > 65535) {
      throw invalidArgument(`overlay config: ${name} ${v} is not a port (1-65535)`);
    }
  };
  port('vxlanPort', c.vxlanPort);
  port('dnsPort', c.dnsPort);
  if (!Number.isInteger(c.underlayMtu) || c.underlayMtu < 1280 || c.underlayMtu > 65535) {
    throw invalidArgument(`overlay config: underlayMtu ${c.underlayMtu} must be 1280-65535`);
  }
  c.dnsUpstreams.forEach((u, i) => port(`dnsUpstreams[${i}].port`, u.port));
  if (!Number.isInteger(c.dnsUpstreamTimeoutMs) || c.dnsUpstreamTimeoutMs <= 0) {
    throw invalidArgument(
      `overlay config: dnsUpstreamTimeoutMs ${c.dnsUpstreamTimeoutMs} must be a positive integer`,
    );
  }
  return c;
}
