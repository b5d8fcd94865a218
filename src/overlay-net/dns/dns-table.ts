import { invalidArgument } from '../../api/errors.js';
import { checkIPv4 } from '../validate.js';
import type { DnsRecord } from './wire.js';
import { CLASS_IN, RecordType, addressFromReverseName, canonicalName } from './wire.js';

export interface DnsTask {
  ip: string;
  /** The task's own name (e.g. web.1.abc), answered like a container name. */
  name?: string;
}

export interface DnsService {
  name: string;
  aliases?: string[];
  /** vip: the name answers the VIP; dnsrr: the task addresses, in rotating order. */
  endpointMode: 'vip' | 'dnsrr';
  vip?: string;
  tasks: DnsTask[];
}

export interface DnsNetwork {
  id: string;
  services: DnsService[];
}

/** A container address that may ask, and the networks whose names it may see. */
export interface DnsClient {
  addr: string;
  networks: string[];
  /**
   * Whether names outside the table go to the node's resolvers. False for a container that
   * is only on internal networks: it gets NXDOMAIN, so nothing about the outside leaks in.
   */
  external?: boolean;
}

export interface DnsTableSpec {
  networks: DnsNetwork[];
  clients: DnsClient[];
}

export type Resolution =
  | { kind: 'answer'; records: DnsRecord[] }
  /** A name we own but no record of the asked type (AAAA on an IPv4 overlay). */
  | { kind: 'nodata' }
  | { kind: 'forward' }
  | { kind: 'nxdomain' }
  | { kind: 'refused' };

/** Answers for service names live only as long as a task change takes to reach this node. */
export const SERVICE_TTL_SEC = 600;
export const TASK_TTL_SEC = 0;

const DNS_NAME_RE = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

interface NameEntry {
  addrs: string[];
  ttl: number;
  /** Set for dnsrr names: the addresses rotate on each answer. */
  rotateKey?: string;
}

interface NetworkIndex {
  names: Map<string, NameEntry>;
  reverse: Map<string, string>;
}

/**
 * Who may see which name: built once per table change, read on every query. A client sees the
 * names of the networks it is attached to, first network first, and nothing else.
 */
export class DnsTable {
  private readonly networks = new Map<string, NetworkIndex>();
  private readonly clients = new Map<string, DnsClient>();
  private readonly rotation = new Map<string, number>();

  constructor(spec: DnsTableSpec = { networks: [], clients: [] }) {
    for (const [i, n] of spec.networks.entries()) {
      if (this.networks.has(n.id)) throw invalidArgument(`dns table: network ${n.id} given twice`);
      this.networks.set(n.id, indexNetwork(n, `dns table: networks[${i}]`));
    }
    for (const [i, c] of spec.clients.entries()) {
      checkIPv4(`dns table: clients[${i}].addr`, c.addr);
      this.clients.set(c.addr, c);
    }
  }

  resolve(clientAddr: string, qname: string, qtype: number): Resolution {
    const client = this.clients.get(clientAddr);
    if (!client) return { kind: 'refused' };
    const networks = client.networks;
    const name = canonicalName(qname);
    const ptr = addressFromReverseName(name);
    for (const id of networks) {
      const net = this.networks.get(id);
      if (!net) continue;
      if (ptr !== undefined) {
        const target = net.reverse.get(ptr);
        if (target === undefined) continue;
        if (qtype !== RecordType.PTR && qtype !== RecordType.ANY) return { kind: 'nodata' };
        return { kind: 'answer', records: [record(qname, RecordType.PTR, TASK_TTL_SEC, target)] };
      }
      const entry = net.names.get(name);
      if (!entry) continue;
      if (qtype !== RecordType.A && qtype !== RecordType.ANY) return { kind: 'nodata' };
      const addrs = entry.rotateKey
        ? this.rotate(`${id}\0${entry.rotateKey}`, entry.addrs)
        : entry.addrs;
      return {
        kind: 'answer',
        records: addrs.map((a) => record(qname, RecordType.A, entry.ttl, a)),
      };
    }
    return client.external === false ? { kind: 'nxdomain' } : { kind: 'forward' };
  }

  private rotate(key: string, addrs: string[]): string[] {
    if (addrs.length === 0) return addrs;
    const n = this.rotation.get(key) ?? 0;
    this.rotation.set(key, (n + 1) % addrs.length);
    const k = n % addrs.length;
    return [...addrs.slice(k), ...addrs.slice(0, k)];
  }
}

function record(name: string, type: number, ttl: number, data: string): DnsRecord {
  return { name, type, class: CLASS_IN, ttl, data };
}

function indexNetwork(n: DnsNetwork, where: string): NetworkIndex {
  const names = new Map<string, NameEntry>();
  const reverse = new Map<string, string>();
  const claim = (name: string, entry: NameEntry, at: string): void => {
    const key = canonicalName(name);
    if (!DNS_NAME_RE.test(key) || key.length > 253) {
      throw invalidArgument(`${at}: name ${JSON.stringify(name)} is not a DNS name`);
    }
    if (names.has(key))
      throw invalidArgument(`${at}: name ${JSON.stringify(name)} is already used`);
    names.set(key, entry);
  };
  for (const [i, s] of n.services.entries()) {
    const at = `${where}.services[${i}]`;
    s.tasks.forEach((t, j) => checkIPv4(`${at}.tasks[${j}].ip`, t.ip));
    const taskAddrs = [...new Set(s.tasks.map((t) => t.ip))].sort(compareIPv4);
    let main: NameEntry;
    if (s.endpointMode === 'vip') {
      if (s.vip === undefined) throw invalidArgument(`${at}: endpointMode vip needs a vip`);
      checkIPv4(`${at}.vip`, s.vip);
      main = { addrs: [s.vip], ttl: SERVICE_TTL_SEC };
      reverse.set(s.vip, s.name);
    } else {
      main = { addrs: taskAddrs, ttl: TASK_TTL_SEC, rotateKey: canonicalName(s.name) };
    }
    for (const name of [s.name, ...(s.aliases ?? [])]) claim(name, main, at);
    claim(`tasks.${s.name}`, { addrs: taskAddrs, ttl: TASK_TTL_SEC }, at);
    for (const t of s.tasks) {
      if (t.name !== undefined) claim(t.name, { addrs: [t.ip], ttl: TASK_TTL_SEC }, at);
      reverse.set(t.ip, t.name ?? s.name);
    }
  }
  return { names, reverse };
}

function compareIPv4(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
