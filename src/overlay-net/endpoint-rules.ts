import { invalidArgument } from '../api/errors.js';
import type { NetHost } from './net-host.js';
import { applyNft, chain, deleteTableIfPresent, replaceTableScript, roundRobinMap } from './nft.js';
import { endpointTableName, shortHash } from './names.js';
import { checkIPv4, checkPort } from './validate.js';

/** A service as a container sees it: a VIP and the addresses of its running tasks. */
export interface ServiceVip {
  name: string;
  vip: string;
  backends: string[];
}

export interface EndpointRulesSpec {
  /** Send the container's queries to 127.0.0.11:53 on to the node's embedded DNS server. */
  dns?: { clientIp: string; ifname: string; server: string; port: number };
  services: ServiceVip[];
}

/** The address containers use as their resolver, as Docker does. */
export const EMBEDDED_DNS_ADDR = '127.0.0.11';

/**
 * The rules inside one container's namespace. VIP DNAT sits where the traffic starts (nat
 * output hook): the VIP never has to answer ARP, conntrack makes replies come from the VIP,
 * and every container spreads its own connections over the backends.
 */
export function renderEndpointRules(table: string, spec: EndpointRulesSpec): string {
  const out: string[] = [];
  const post: string[] = [];
  let chains = '';
  if (spec.dns) {
    const d = spec.dns;
    checkIPv4('endpoint rules: dns.clientIp', d.clientIp);
    checkIPv4('endpoint rules: dns.server', d.server);
    checkPort('endpoint rules: dns.port', d.port);
    for (const proto of ['udp', 'tcp']) {
      out.push(`ip daddr ${EMBEDDED_DNS_ADDR} ${proto} dport 53 dnat to ${d.server}:${d.port}`);
    }
    post.push(`ip saddr 127.0.0.0/8 oifname ${JSON.stringify(d.ifname)} snat to ${d.clientIp}`);
  }
  const seen = new Set<string>();
  const vmap: string[] = [];
  const rejects: string[] = [];
  for (const [i, s] of spec.services.entries()) {
    checkIPv4(`endpoint rules: services[${i}].vip`, s.vip);
    if (seen.has(s.vip)) {
      throw invalidArgument(
        `endpoint rules: services[${i}] (${s.name}): VIP ${s.vip} is used twice`,
      );
    }
    seen.add(s.vip);
    s.backends.forEach((b, j) => checkIPv4(`endpoint rules: services[${i}].backends[${j}]`, b));
    const backends = [...new Set(s.backends)].sort();
    if (backends.length === 0) {
      // Connection refused at once, as for a service scaled to zero, rather than a timeout.
      rejects.push(`ip daddr ${s.vip} meta l4proto tcp reject with tcp reset`);
      rejects.push(`ip daddr ${s.vip} reject`);
      continue;
    }
    const name = `svc-${shortHash(s.name, s.vip)}`;
    chains += chain(name, null, [`dnat to ${roundRobinMap(backends)}`]);
    vmap.push(`${s.vip} : jump ${name}`);
  }
  if (vmap.length > 0) out.push(`ip daddr vmap { ${vmap.join(', ')} }`);
  let body = chain('output', 'type nat hook output priority -100; policy accept;', out);
  if (post.length > 0) {
    body += chain('postrouting', 'type nat hook postrouting priority 100; policy accept;', post);
  }
  if (rejects.length > 0) {
    body += chain('refuse', 'type filter hook output priority 0; policy accept;', rejects);
  }
  return replaceTableScript(table, body + chains);
}

/**
 * Keeps one container's table equal to a desired spec. Each apply is one `nft -f` transaction,
 * so a backend change is atomic; an unchanged spec costs nothing.
 */
export class EndpointRules {
  readonly table: string;
  private applied: string | undefined;

  constructor(
    private readonly host: NetHost,
    prefix: string,
  ) {
    this.table = endpointTableName(prefix);
  }

  /** Returns false when the rules were already in place. */
  async apply(spec: EndpointRulesSpec): Promise<boolean> {
    const script = renderEndpointRules(this.table, spec);
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
