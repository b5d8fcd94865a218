import { chain, replaceTableScript } from './nft.js';

export interface NetworkRulesInput {
  table: string;
  bridge: string;
  subnet: string;
  internal: boolean;
  /** Matches every overlay bridge on the node, to keep networks apart. */
  bridgeGlob: string;
}

/**
 * The node-side rules of one network: isolation from the other overlay networks, no way out
 * for an internal network, masquerade of traffic that leaves for the node's own network.
 */
export function renderNetworkRules(n: NetworkRulesInput): string {
  const br = JSON.stringify(n.bridge);
  const forward: string[] = [];
  if (n.internal) {
    forward.push(`iifname ${br} oifname != ${br} drop`, `oifname ${br} iifname != ${br} drop`);
  } else {
    const others = `iifname ${br} oifname ${JSON.stringify(n.bridgeGlob)} oifname != ${br}`;
    forward.push(
      // A published port reached from a task: the mesh DNATs it onto the ingress bridge (and
      // its replies come back across); only our ingress rules DNAT in the node's namespace.
      `${others} ct status dnat accept`,
      `${others} drop`,
      `oifname ${br} ct state established,related accept`,
      // Published ports reach tasks through DNAT (ingress); nothing else may come in unasked.
      `oifname ${br} ct status dnat accept`,
      `oifname ${br} iifname != ${br} drop`,
    );
  }
  let body = chain('forward', 'type filter hook forward priority 0; policy accept;', forward);
  if (!n.internal) {
    body += chain('postrouting', 'type nat hook postrouting priority 100; policy accept;', [
      `ip saddr ${n.subnet} oifname != ${br} masquerade`,
    ]);
  }
  return replaceTableScript(n.table, body);
}
