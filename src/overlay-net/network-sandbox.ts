import type { Logger } from 'pino';
import { invalidArgument } from '../api/errors.js';
import type { NetnsRef } from './exec-net-host.js';
import { inNetns } from './exec-net-host.js';
import type { NetHost } from './net-host.js';
import { runChecked, runJson } from './net-host.js';
import { removeNetwork } from './cleanup.js';
import { applyNft } from './nft.js';
import type { OverlayConfig } from './overlay-config.js';
import { validateOverlayConfig } from './overlay-config.js';
import {
  bridgeName,
  networkTableName,
  vethHostName,
  vethPeerTempName,
  vxlanName,
} from './names.js';
import { renderNetworkRules } from './network-rules.js';
import type { FdbRow, NeighRow, Peer, PeerPlan } from './peers.js';
import { normalizePeers, planPeers } from './peers.js';
import { checkIPv4, checkMac, checkSubnet, inSubnet } from './validate.js';

/** One overlay network as this node realises it. */
export interface NetworkSpec {
  id: string;
  /** VXLAN network identifier, the same on every node. */
  vni: number;
  subnet: string;
  gateway: string;
  /** No traffic leaves the overlay: no masquerade, no forwarding to other interfaces. */
  internal?: boolean;
  /** This node's underlay address: VXLAN's `local`, and what peers name as `nodeAddr`. */
  localAddr: string;
  /** Underlay device for VXLAN; by default the kernel routes to each peer. */
  underlayDev?: string;
  /** An address of the node itself on the network (the ingress network needs one for SNAT). */
  nodeEndpoint?: { ip: string; mac: string };
}

/** A container's interface on the network. */
export interface EndpointSpec {
  id: string;
  netns: NetnsRef;
  ip: string;
  mac: string;
  /** Name inside the container; eth0 by default. */
  ifname?: string;
  /** Install the default route via the network's gateway (true by default). */
  defaultRoute?: boolean;
}

const MIN_VNI = 1;
const MAX_VNI = 16_777_215;

/**
 * A network on one node: a bridge with the gateway address, a VXLAN port on it that reaches
 * the other nodes, the node-side nft rules, and container veths. All of it lives in the node's
 * own namespace (see README for why).
 */
export class NetworkSandbox {
  readonly bridge: string;
  readonly vxlan: string;
  readonly table: string;
  readonly mtu: number;
  private readonly bits: number;
  private readonly subnet: { addr: string; bits: number };

  constructor(
    private readonly host: NetHost,
    readonly spec: NetworkSpec,
    private readonly config: OverlayConfig,
    private readonly log?: Logger,
  ) {
    validateOverlayConfig(config);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(spec.id)) {
      throw invalidArgument(
        `network: id ${JSON.stringify(spec.id)} must be 1-64 of [A-Za-z0-9_.-]`,
      );
    }
    if (!Number.isInteger(spec.vni) || spec.vni < MIN_VNI || spec.vni > MAX_VNI) {
      throw invalidArgument(`network ${spec.id}: vni ${spec.vni} must be ${MIN_VNI}-${MAX_VNI}`);
    }
    this.subnet = checkSubnet(`network ${spec.id}: subnet`, spec.subnet);
    this.bits = this.subnet.bits;
    checkIPv4(`network ${spec.id}: gateway`, spec.gateway);
    if (!inSubnet(spec.gateway, this.subnet)) {
      throw invalidArgument(
        `network ${spec.id}: gateway ${spec.gateway} is outside ${spec.subnet}`,
      );
    }
    checkIPv4(`network ${spec.id}: localAddr`, spec.localAddr);
    if (spec.nodeEndpoint) {
      checkIPv4(`network ${spec.id}: nodeEndpoint.ip`, spec.nodeEndpoint.ip);
      if (!inSubnet(spec.nodeEndpoint.ip, this.subnet)) {
        throw invalidArgument(
          `network ${spec.id}: nodeEndpoint.ip ${spec.nodeEndpoint.ip} is outside ${spec.subnet}`,
        );
      }
      checkMac(`network ${spec.id}: nodeEndpoint.mac`, spec.nodeEndpoint.mac);
    }
    this.bridge = bridgeName(config.prefix, spec.id);
    this.vxlan = vxlanName(config.prefix, spec.id);
    this.table = networkTableName(config.prefix, spec.id);
    this.mtu = config.underlayMtu - 50;
  }

  private ip(...args: string[]): Promise<string> {
    return runChecked(this.host, 'ip', args);
  }

  private async linkExists(name: string): Promise<boolean> {
    return (await this.host.run('ip', ['-j', 'link', 'show', 'dev', name])).code === 0;
  }

  /** Creates what is missing; safe to call again after a crash halfway. */
  async create(): Promise<void> {
    const { spec } = this;
    if (!(await this.linkExists(this.bridge))) {
      await this.ip('link', 'add', this.bridge, 'mtu', String(this.mtu), 'type', 'bridge');
    }
    if (spec.nodeEndpoint) {
      await this.ip('link', 'set', 'dev', this.bridge, 'address', spec.nodeEndpoint.mac);
      await this.ip('addr', 'replace', `${spec.nodeEndpoint.ip}/${this.bits}`, 'dev', this.bridge);
    }
    await this.ip('addr', 'replace', `${spec.gateway}/${this.bits}`, 'dev', this.bridge);
    await this.ip('link', 'set', 'dev', this.bridge, 'up');
    if (!(await this.linkExists(this.vxlan))) {
      // nolearning: the managers' view programs every MAC; proxy: ARP for remote tasks is
      // answered from the neighbour table on this node instead of flooding every node.
      const args = ['link', 'add', this.vxlan, 'mtu', String(this.mtu), 'type', 'vxlan'];
      args.push('id', String(spec.vni), 'dstport', String(this.config.vxlanPort));
      args.push('local', spec.localAddr, 'nolearning', 'proxy');
      if (spec.underlayDev) args.push('dev', spec.underlayDev);
      await this.ip(...args);
    }
    await this.ip('link', 'set', 'dev', this.vxlan, 'master', this.bridge, 'up');
    // Containers route through the node, and each lab node is its own namespace with its own
    // copy of this switch.
    await runChecked(this.host, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await applyNft(
      this.host,
      renderNetworkRules({
        table: this.table,
        bridge: this.bridge,
        subnet: spec.subnet,
        internal: spec.internal ?? false,
        bridgeGlob: `${this.config.prefix}b*`,
      }),
    );
    this.log?.info({ 'net.id': spec.id, 'net.bridge': this.bridge }, 'network sandbox ready');
  }

  /** Converges forwarding and neighbour entries to exactly these peers; returns what changed. */
  async setPeers(peers: readonly Peer[]): Promise<PeerPlan> {
    const desired = normalizePeers(peers, this.spec.localAddr);
    const fdb = await runJson<FdbRow[]>(this.host, 'bridge', [
      '-j',
      'fdb',
      'show',
      'dev',
      this.vxlan,
    ]);
    const neigh = await runJson<NeighRow[]>(this.host, 'ip', [
      '-4',
      '-j',
      'neigh',
      'show',
      'dev',
      this.vxlan,
    ]);
    const plan = planPeers(desired, fdb, neigh);
    // One batch per tool: a few hundred peers cost two process starts, not hundreds.
    const vx = this.vxlan;
    const fdbLines = [
      ...plan.fdbDel.map((e) => `fdb del ${e.mac} dev ${vx} dst ${e.dst}`),
      ...plan.fdbAdd.map((e) => `fdb append ${e.mac} dev ${vx} dst ${e.dst} self permanent`),
    ];
    const neighLines = [
      ...plan.neighDel.map((ip) => `neigh del ${ip} dev ${vx}`),
      ...plan.neighSet.map((n) => `neigh replace ${n.ip} lladdr ${n.mac} dev ${vx} nud permanent`),
    ];
    if (fdbLines.length > 0) {
      await runChecked(this.host, 'bridge', ['-batch', '-'], { input: fdbLines.join('\n') + '\n' });
    }
    if (neighLines.length > 0) {
      await runChecked(this.host, 'ip', ['-batch', '-'], { input: neighLines.join('\n') + '\n' });
    }
    return plan;
  }

  /** A veth from the bridge into the container, with its address, MAC and default route. */
  async attach(ep: EndpointSpec): Promise<void> {
    const where = `network ${this.spec.id}: endpoint ${ep.id}`;
    checkIPv4(`${where}: ip`, ep.ip);
    const mac = checkMac(`${where}: mac`, ep.mac);
    if (!inSubnet(ep.ip, this.subnet)) {
      throw invalidArgument(`${where}: ip ${ep.ip} is outside ${this.spec.subnet}`);
    }
    const ifname = ep.ifname ?? 'eth0';
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) {
      throw invalidArgument(`${where}: ifname ${JSON.stringify(ifname)} is not a device name`);
    }
    const hostEnd = vethHostName(this.config.prefix, this.spec.id, ep.id);
    const peerEnd = vethPeerTempName(this.config.prefix, this.spec.id, ep.id);
    const target =
      'name' in ep.netns
        ? ep.netns.name
        : 'path' in ep.netns
          ? ep.netns.path
          : String(ep.netns.pid);
    if (!/^[^\s"'\\]+$/.test(target)) {
      throw invalidArgument(`${where}: netns ${JSON.stringify(target)} has blanks or quotes`);
    }
    if (await this.linkExists(hostEnd)) await this.ip('link', 'del', hostEnd);
    const m = this.mtu;
    // Two batches (node side, container side) instead of a dozen process starts.
    await runChecked(this.host, 'ip', ['-batch', '-'], {
      input: [
        `link add ${hostEnd} mtu ${m} type veth peer name ${peerEnd} mtu ${m}`,
        `link set dev ${hostEnd} master ${this.bridge} up`,
        `link set dev ${peerEnd} netns ${target}`,
        '',
      ].join('\n'),
    }).catch(async (err: unknown) => {
      await this.host.run('ip', ['link', 'del', hostEnd]);
      throw err;
    });
    try {
      const c = inNetns(this.host, ep.netns);
      const lines = [
        `link set dev ${peerEnd} name ${ifname}`,
        `link set dev ${ifname} address ${mac}`,
        `addr add ${ep.ip}/${this.bits} dev ${ifname}`,
        `link set dev ${ifname} up`,
        'link set dev lo up',
      ];
      if (ep.defaultRoute ?? true) lines.push(`route replace default via ${this.spec.gateway}`);
      await runChecked(c, 'ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
      // The embedded DNS is reached at 127.0.0.11 and DNATed to the gateway; a loopback source
      // may leave the namespace only with route_localnet (it is SNATed on the way out).
      await runChecked(c, 'sysctl', ['-qw', `net.ipv4.conf.${ifname}.route_localnet=1`]);
    } catch (err) {
      await this.host.run('ip', ['link', 'del', hostEnd]);
      throw err;
    }
    this.log?.info(
      { 'net.id': this.spec.id, 'endpoint.id': ep.id, 'endpoint.ip': ep.ip },
      'attached',
    );
  }

  /** Removes the container's veth (both ends go together); absent is fine. */
  async detach(endpointId: string): Promise<void> {
    const hostEnd = vethHostName(this.config.prefix, this.spec.id, endpointId);
    if (await this.linkExists(hostEnd)) await this.ip('link', 'del', hostEnd);
  }

  /** Removes the bridge, the VXLAN device, every veth still on the bridge and the nft table. */
  async remove(): Promise<void> {
    await removeNetwork(this.host, this.config.prefix, this.spec.id);
  }
}
