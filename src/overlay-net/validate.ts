import { isIPv4, isIPv6 } from 'node:net';
import { invalidArgument } from '../api/errors.js';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function checkIPv4(where: string, v: string): string {
  if (!isIPv4(v)) throw invalidArgument(`${where}: ${JSON.stringify(v)} is not an IPv4 address`);
  return v;
}

export function checkIP(where: string, v: string): string {
  if (!isIPv4(v) && !isIPv6(v)) {
    throw invalidArgument(`${where}: ${JSON.stringify(v)} is not an IP address`);
  }
  return v;
}

export function checkMac(where: string, v: string): string {
  const m = v.toLowerCase();
  if (!MAC_RE.test(m)) throw invalidArgument(`${where}: ${JSON.stringify(v)} is not a MAC address`);
  const first = parseInt(m.slice(0, 2), 16);
  if (first & 1) throw invalidArgument(`${where}: ${v} is a multicast MAC address`);
  return m;
}

export function checkPort(where: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 65535) {
    throw invalidArgument(`${where}: ${v} is not a port (1-65535)`);
  }
  return v;
}

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

/** Parses "10.0.0.0/24" and checks the address is the network's first one. */
export function checkSubnet(where: string, v: string): { addr: string; bits: number } {
  const [addr, bitsText, extra] = v.split('/');
  const bits = Number(bitsText);
  if (extra !== undefined || addr === undefined || !isIPv4(addr) || !Number.isInteger(bits)) {
    throw invalidArgument(`${where}: ${JSON.stringify(v)} is not an IPv4 CIDR like 10.0.0.0/24`);
  }
  if (bits < 8 || bits > 30) throw invalidArgument(`${where}: prefix /${bits} must be /8 to /30`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  if ((ipv4ToInt(addr) & mask) >>> 0 !== ipv4ToInt(addr)) {
    throw invalidArgument(`${where}: ${v} has host bits set`);
  }
  return { addr, bits };
}

export function inSubnet(ip: string, subnet: { addr: string; bits: number }): boolean {
  const mask = (0xffffffff << (32 - subnet.bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) >>> 0 === ipv4ToInt(subnet.addr);
}
