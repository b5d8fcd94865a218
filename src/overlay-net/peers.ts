import { invalidArgument } from '../api/errors.js';
import { checkIPv4, checkMac } from './validate.js';

/** A task address on another node: its overlay IP and MAC, and the node that holds it. */
export interface Peer {
  ip: string;
  mac: string;
  nodeAddr: string;
}

/** One row of `bridge -j fdb show dev VXLAN` that this library may have made. */
export interface FdbRow {
  mac: string;
  dst?: string;
}

/** One row of `ip -j neigh show dev VXLAN`. */
export interface NeighRow {
  dst: string;
  lladdr?: string;
}

export interface PeerPlan {
  fdbAdd: { mac: string; dst: string }[];
  fdbDel: { mac: string; dst: string }[];
  neighSet: { ip: string; mac: string }[];
  neighDel: string[];
}

/** Checks a desired peer set and drops peers on this node (they sit on the local bridge). */
export function normalizePeers(peers: readonly Peer[], localAddr: string): Peer[] {
  const byIp = new Map<string, Peer>();
  peers.forEach((p, i) => {
    const where = `peers[${i}]`;
    const peer = {
      ip: checkIPv4(`${where}.ip`, p.ip),
      mac: checkMac(`${where}.mac`, p.mac),
      nodeAddr: checkIPv4(`${where}.nodeAddr`, p.nodeAddr),
    };
    const seen = byIp.get(peer.ip);
    if (seen && (seen.mac !== peer.mac || seen.nodeAddr !== peer.nodeAddr)) {
      throw invalidArgument(`${where}: ip ${peer.ip} is given twice with different mac or node`);
    }
    if (peer.nodeAddr !== localAddr) byIp.set(peer.ip, peer);
  });
  return [...byIp.values()];
}

/**
 * What to change so that the VXLAN device's forwarding and neighbour entries are exactly the
 * desired peers: nothing for what is already right, so a repeated call makes no change.
 */
export function planPeers(
  desired: readonly Peer[],
  fdb: readonly FdbRow[],
  neigh: readonly NeighRow[],
): PeerPlan {
  const key = (mac: string, dst: string): string => `${mac}|${dst}`;
  const want = new Map<string, { mac: string; dst: string }>();
  for (const p of desired) want.set(key(p.mac, p.nodeAddr), { mac: p.mac, dst: p.nodeAddr });
  const have = new Map<string, { mac: string; dst: string }>();
  for (const r of fdb) {
    // Rows without dst are the bridge's own (the device's MAC); they are not ours to manage.
    if (r.dst === undefined) continue;
    const mac = r.mac.toLowerCase();
    have.set(key(mac, r.dst), { mac, dst: r.dst });
  }
  const neighWant = new Map(desired.map((p) => [p.ip, p.mac]));
  const neighHave = new Map(neigh.map((n) => [n.dst, n.lladdr?.toLowerCase()]));
  return {
    fdbAdd: [...want].filter(([k]) => !have.has(k)).map(([, v]) => v),
    fdbDel: [...have].filter(([k]) => !want.has(k)).map(([, v]) => v),
    neighSet: [...neighWant]
      .filter(([ip, mac]) => neighHave.get(ip) !== mac)
      .map(([ip, mac]) => ({ ip, mac })),
    neighDel: [...neighHave.keys()].filter((ip) => !neighWant.has(ip)),
  };
}
