import { invalidArgument } from '../api/errors.js';

export interface LabSubnet {
  /** Network address as a 32-bit unsigned number. */
  network: number;
  prefixLength: number;
}

const privateRanges: [number, number][] = [
  [ipv4ToNumber('10.0.0.0'), 8],
  [ipv4ToNumber('172.16.0.0'), 12],
  [ipv4ToNumber('192.168.0.0'), 16],
];

export function ipv4ToNumber(s: string): number {
  const parts = s.split('.');
  if (
    parts.length !== 4 ||
    parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)
  ) {
    return Number.NaN;
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

const maskOf = (prefixLength: number): number =>
  prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;

/**
 * A lab subnet is an aligned private IPv4 CIDR: the addresses exist only inside the lab's
 * namespaces, but a private range keeps them from shadowing a real destination in any tool
 * that looks at them from the host.
 */
export function parseLabSubnet(cidr: string): LabSubnet {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  const network = m ? ipv4ToNumber(m[1] ?? '') : Number.NaN;
  const prefixLength = m ? Number(m[2]) : Number.NaN;
  if (!m || Number.isNaN(network) || prefixLength > 32) {
    throw invalidArgument(
      `--subnet ${JSON.stringify(cidr)} is not an IPv4 CIDR like 172.30.0.0/24`,
    );
  }
  if (prefixLength < 8 || prefixLength > 28) {
    throw invalidArgument(`--subnet ${cidr}: the prefix length must be between 8 and 28`);
  }
  const aligned = (network & maskOf(prefixLength)) >>> 0;
  if (aligned !== network) {
    throw invalidArgument(
      `--subnet ${cidr}: not a network address (did you mean ${numberToIpv4(aligned)}/${prefixLength}?)`,
    );
  }
  const inPrivate = privateRanges.some(
    ([base, len]) => prefixLength >= len && (network & maskOf(len)) >>> 0 === base,
  );
  if (!inPrivate) {
    throw invalidArgument(
      `--subnet ${cidr}: use a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)`,
    );
  }
  return { network, prefixLength };
}

export const formatSubnet = (s: LabSubnet): string =>
  `${numberToIpv4(s.network)}/${s.prefixLength}`;

/** Node i (0-based) gets network+2+i; network+1 stays free, as a gateway would take it. */
export function nodeAddresses(s: LabSubnet, count: number): string[] {
  const usable = 2 ** (32 - s.prefixLength) - 3;
  if (count > usable) {
    throw invalidArgument(
      `--subnet ${formatSubnet(s)} holds ${usable} node addresses, the lab needs ${count}`,
    );
  }
  return Array.from({ length: count }, (_, i) => numberToIpv4(s.network + 2 + i));
}

/**
 * The default subnet: the first 172.30.K.0/24 no other lab uses. Labs are isolated from one
 * another anyway; distinct subnets only keep `lab ls` unambiguous for people.
 */
export function defaultLabSubnet(used: readonly string[]): string {
  for (let k = 0; k < 256; k++) {
    const candidate = `172.30.${k}.0/24`;
    if (!used.includes(candidate)) return candidate;
  }
  throw invalidArgument('every default lab subnet 172.30.0-255.0/24 is taken: pass --subnet');
}
