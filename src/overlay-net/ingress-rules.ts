import { invalidArgument } from '../api/errors.js';
import type { NetHost } from './net-host.js';
import { applyNft, chain, deleteTableIfPresent, replaceTableScript, roundRobinMap } from './nft.js';
import { ingressTableName } from './names.js';
import { checkIPv4, checkPort } from './validate.js';

export type PortProtocol = 'tcp' | 'udp';
export type PublishMode = 'ingress' | 'host';

/** A published port as realised on this node. */
export interface PublishedPort {
  protocol: PortProtocol;
  publishedPort: number;
  targetPort: number;
  mode: PublishMode;
  /**
   * ingress: the service's task addresses on the ingress network, on every node;
   * host: the addresses of the service's tasks on this node only.
   */
  backends: string[];
}

export interface IngressSpec {
  ports: PublishedPort[];
  /** The ingress network's bridge on this node; needed when a port uses mode ingress. */
  ingressBridge?: string;
  /** This node's own address on the ingress network, so replies from other nodes come back. */
  snatAddr?: string;
}

/** Marks the first packet of a routing-mesh connection so that only it is SNATed. */
export const MESH_MARK = '0x7357a001';

export function renderIngressRules(table: string, spec: IngressSpec): string {
  const nat: string[] = [];
  const seen = new Set<string>();
  let mesh = false;
  for (const [i, p] of spec.ports.entries()) {
    const where = `ingress: ports[${i}]`;
    if (p.protocol !== 'tcp' && p.protocol !== 'udp') {
      throw invalidArgument(`${where}: protocol ${JSON.stringify(p.protocol)} must be tcp or udp`);
    }
    checkPort(`${where}.publishedPort`, p.publishedPort);
    checkPort(`${where}.targetPort`, p.targetPort);
    const key = `${p.protocol}/${p.publishedPort}`;
    if (seen.has(key)) throw invalidArgument(`${where}: ${key} is published twice on this node`);
    seen.add(key);
    p.backends.forEach((b, j) => checkIPv4(`${where}.backends[${j}]`, b));
    const backends = [...new Set(p.backends)].sort();
    if (backends.length === 0) continue;
    const match = `fib daddr type local ${p.protocol} dport ${p.publishedPort}`;
    const targets = backends.map((b) => `${b} . ${p.targetPort}`);
    if (p.mode === 'ingress') {
      mesh = true;
      nat.push(`${match} meta mark set ${MESH_MARK} dnat ip to ${roundRobinMap(targets)}`);
    } else {
      nat.push(`${match} dnat ip to ${roundRobinMap(targets)}`);
    }
  }
  let body =
    chain('prerouting', 'type nat hook prerouting priority -100; policy accept;', nat) +
    chain('output', 'type nat hook output priority -100; policy accept;', nat);
  if (mesh) {
    if (!spec.ingressBridge || !spec.snatAddr) {
      throw invalidArgument('ingress: ingressBridge and snatAddr are required for mode ingress');
    }
    checkIPv4('ingress: snatAddr', spec.snatAddr);
    // Before the networks' masquerade (srcnat, 100): the first nat chain that binds a
    // connection wins, and a masquerade onto the ingress bridge would pick its primary address,
    // the gateway, which every node carries, so the task's reply would stay on its own node.
    body += chain('postrouting', 'type nat hook postrouting priority 90; policy accept;', [
      `meta mark ${MESH_MARK} oifname ${JSON.stringify(spec.ingressBridge)} snat to ${spec.snatAddr}`,
    ]);
  }
  return replaceTableScript(table, body);
}

/** The node's published ports, replaced atomically on every change. */
export class IngressRules {
  readonly table: string;
  private applied: string | undefined;

  constructor(
    private readonly host: NetHost,
    prefix: string,
  ) {
    this.table = ingressTableName(prefix);
  }

  async apply(spec: IngressSpec): Promise<boolean> {
    const script = renderIngressRules(this.table, spec);
    if (script === this.applied) return false;
    await applyNft(this.host, script);
    this.applied = script;
    return true;
  }

  async remove(): Promise<void> {
    await deleteTableIfPresent(this.host, this.table);
    this.applied = undefined;
  }
}
