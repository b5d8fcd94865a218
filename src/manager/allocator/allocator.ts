import {
  conflict,
  inUse,
  invalidArgument,
  isTerminalTaskState,
  notFound,
  type Endpoint,
  type EndpointVirtualIP,
  type Network,
  type NetworkAttachment,
  type NetworkSpec,
  type PortConfig,
  type Service,
  type ServiceSpec,
  type Task,
  resolveRef,
} from '../../api/index.js';
import type { ReadTx, WriteTx } from '../store/index.js';
import {
  AddressSpace,
  allocateSubnet,
  contains,
  formatCidr,
  formatIp,
  overlaps,
  parseCidr,
  parseIp,
  type Cidr,
} from './ipam.js';

/**
 * The manager side of overlay networks (swarmkit's allocator, run inside the transactions
 * that create networks, services and tasks rather than as a separate pass): subnets, VXLAN
 * ids, service VIPs, published ports and task addresses. Everything is derived from the
 * store inside the transaction, so it is deterministic and an address held by a live object
 * is never given to another.
 */

export const OVERLAY_DRIVER = 'overlay';
export const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';
export const INGRESS_NETWORK_NAME = 'ingress';
/** Swarm's first VXLAN id goes to ingress; user networks take the next free ones. */
const INGRESS_VNI = 4096;
const FIRST_VNI = 4097;
const MAX_VNI = 16_777_215;
/** Docker's dynamic range for ingress ports published without a number. */
const DYNAMIC_PORT_FIRST = 30000;
const DYNAMIC_PORT_LAST = 32767;

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface NetworkAllocation {
  subnet: Cidr;
  gateway: number;
  vni: number;
}

/** Subnet, gateway and VXLAN id of a stored network (what `createNetwork` put there). */
export function networkAllocation(n: Network): NetworkAllocation | undefined {
  const cfg = n.IPAMOptions?.Configs[0];
  const subnet = cfg?.Subnet === undefined ? undefined : parseCidr(cfg.Subnet);
  const gateway = cfg?.Gateway === undefined ? undefined : parseIp(cfg.Gateway);
  const vni = Number(n.DriverState?.Options?.[VXLAN_ID_OPTION]);
  if (!subnet?.ok || gateway === undefined || !Number.isInteger(vni)) return undefined;
  return { subnet: subnet.value, gateway, vni };
}

/** Checks a user's network spec and allocates it; throws a clear error and writes nothing. */
export function createNetwork(tx: WriteTx, spec: NetworkSpec): Network {
  const name = spec.Name;
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw invalidArgument(
      `invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  const driver = spec.DriverConfiguration?.Name ?? OVERLAY_DRIVER;
  if (driver !== OVERLAY_DRIVER) {
    throw invalidArgument(`network driver ${driver} is not supported in a swarm: use overlay`);
  }
  if (spec.IPv6Enabled) throw invalidArgument('IPv6 overlay networks are not supported');
  if (tx.networks.find({ by: 'name', name }).length > 0) {
    throw conflict(`network with name ${name} already exists`);
  }
  if (spec.Ingress && tx.networks.find({ by: 'all' }).some((n) => n.Spec.Ingress)) {
    throw conflict('an ingress network already exists');
  }
  const configs = spec.IPAMOptions?.Configs ?? [];
  if (configs.length > 1) throw invalidArgument('only one subnet per overlay network is supported');
  const existing = tx.networks.find({ by: 'all' });
  const taken: { cidr: Cidr; name: string }[] = [];
  for (const n of existing) {
    const a = networkAllocation(n);
    if (a) taken.push({ cidr: a.subnet, name: n.Spec.Name });
  }
  const cfg = configs[0] ?? {};
  let subnet: Cidr;
  if (cfg.Subnet !== undefined) {
    const p = parseCidr(cfg.Subnet);
    if (!p.ok) throw invalidArgument(p.error);
    if (p.value.prefix > 29) {
      throw invalidArgument(`subnet ${cfg.Subnet} is too small: at most /29 for an overlay`);
    }
    const clash = taken.find((t) => overlaps(t.cidr, p.value));
    if (clash) {
      throw conflict(
        `invalid pool request: Pool overlaps with other one on this address space: ${cfg.Subnet} overlaps network ${clash.name} (${formatCidr(clash.cidr)})`,
      );
    }
    subnet = p.value;
  } else {
    if (cfg.Gateway !== undefined) throw invalidArgument('a gateway needs a --subnet');
    const cluster = tx.clusters.find({ by: 'all' })[0];
    const pools: Cidr[] = [];
    for (const p of cluster?.DefaultAddrPool ?? ['10.0.0.0/8']) {
      const c = parseCidr(p);
      if (c.ok) pools.push(c.value);
    }
    const got = allocateSubnet(
      pools,
      cluster?.SubnetSize ?? 24,
      taken.map((t) => t.cidr),
    );
    if (!got)
      throw conflict(
        'could not find an available, non-overlapping subnet in the default address pools',
      );
    subnet = got;
  }
  let gateway = subnet.base + 1;
  if (cfg.Gateway !== undefined) {
    const g = parseIp(cfg.Gateway);
    if (g === undefined) throw invalidArgument(`invalid gateway address ${cfg.Gateway}`);
    const space = new AddressSpace(subnet);
    if (!contains(subnet, g) || g < space.first || g > space.last) {
      throw invalidArgument(
        `gateway ${cfg.Gateway} is not a host address of subnet ${formatCidr(subnet)}`,
      );
    }
    gateway = g;
  }
  let vni = INGRESS_VNI;
  if (!spec.Ingress) {
    const used = new Set(existing.map((n) => networkAllocation(n)?.vni));
    vni = FIRST_VNI;
    while (used.has(vni)) vni++;
    if (vni > MAX_VNI) throw conflict('no VXLAN id left');
  }
  return tx.networks.create({
    ID: tx.newId(),
    Spec: { ...spec, DriverConfiguration: { Name: OVERLAY_DRIVER }, Scope: 'swarm' },
    DriverState: { Name: OVERLAY_DRIVER, Options: { [VXLAN_ID_OPTION]: String(vni) } },
    IPAMOptions: {
      Driver: { Name: 'default' },
      Configs: [{ Subnet: formatCidr(subnet), Gateway: formatIp(gateway) }],
    },
  });
}

/** Refuses to remove a network a service or a live task still uses (docker's message). */
export function removeNetwork(tx: WriteTx, network: Network): void {
  for (const s of tx.services.find({ by: 'all' })) {
    if (serviceNetworkIds(s).includes(network.ID)) {
      throw inUse(`network ${network.Spec.Name} is in use by service ${s.Spec.Name}`);
    }
  }
  for (const t of tx.tasks.find({ by: 'all' })) {
    if (!holdsAddresses(t)) continue;
    if ((t.NetworksAttachments ?? []).some((a) => a.Network.ID === network.ID)) {
      throw inUse(`network ${network.Spec.Name} is in use by task ${t.ID}`);
    }
  }
  tx.networks.delete(network.ID);
}

/** Docker's lookup: full id, exact name, then a unique id prefix. */
export function resolveNetwork(tx: ReadTx, ref: string): Network {
  return resolveRef(tx.networks, ref, 'network');
}

/** Network ids a service's tasks attach to, ingress included when it publishes in ingress mode. */
export function serviceNetworkIds(s: Service): string[] {
  const ids = (s.Spec.TaskTemplate.Networks ?? []).map((n) => n.Target);
  for (const v of s.Endpoint?.VirtualIPs ?? [])
    if (!ids.includes(v.NetworkID)) ids.push(v.NetworkID);
  return ids;
}

/** A task holds its addresses until it is terminal (its container is gone). */
function holdsAddresses(t: Task): boolean {
  return !isTerminalTaskState(t.Status.State);
}

/**
 * The spec as stored: attachment targets become network ids (docker stores ids too), and an
 * unknown or ingress target is refused.
 */
export function resolveServiceNetworks(tx: ReadTx, spec: ServiceSpec): ServiceSpec {
  const nets = spec.TaskTemplate.Networks;
  if (!nets || nets.length === 0) return spec;
  const seen = new Set<string>();
  const resolved = nets.map((n) => {
    const net = resolveNetwork(tx, n.Target);
    if (net.Spec.Ingress) {
      throw invalidArgument(
        `service cannot be explicitly attached to the ingress network "${net.Spec.Name}"`,
      );
    }
    if (seen.has(net.ID)) throw invalidArgument(`network ${net.Spec.Name} attached more than once`);
    seen.add(net.ID);
    return { ...n, Target: net.ID };
  });
  return { ...spec, TaskTemplate: { ...spec.TaskTemplate, Networks: resolved } };
}

/** Pools of every network with the addresses live objects hold, built once per transaction. */
export class AddressBook {
  private readonly spaces = new Map<string, AddressSpace>();

  constructor(private readonly tx: ReadTx) {
    for (const n of tx.networks.find({ by: 'all' })) {
      const a = networkAllocation(n);
      if (a) this.spaces.set(n.ID, new AddressSpace(a.subnet, [a.gateway]));
    }
    for (const s of tx.services.find({ by: 'all' })) {
      for (const v of s.Endpoint?.VirtualIPs ?? []) this.hold(v.NetworkID, v.Addr);
    }
    for (const n of tx.nodes.find({ by: 'all' })) {
      for (const a of n.Attachments ?? [])
        for (const addr of a.Addresses) this.hold(a.Network.ID, addr);
    }
    for (const t of tx.tasks.find({ by: 'all' })) {
      if (!holdsAddresses(t)) continue;
      for (const a of t.NetworksAttachments ?? [])
        for (const addr of a.Addresses) this.hold(a.Network.ID, addr);
    }
  }

  private hold(networkId: string, addr: string): void {
    const ip = parseIp(addr.split('/')[0] ?? '');
    if (ip !== undefined) this.spaces.get(networkId)?.reserve(ip);
  }

  /** `10.0.1.5/24` on the network, or an error naming the network that is full. */
  allocate(network: Network): string {
    const space = this.spaces.get(network.ID);
    if (!space) throw notFound(`network ${network.Spec.Name} has no address pool`);
    const ip = space.allocate();
    if (ip === undefined) {
      throw conflict(
        `no address left on network ${network.Spec.Name} (${formatCidr(space.subnet)})`,
      );
    }
    return `${formatIp(ip)}/${space.subnet.prefix}`;
  }

  network(id: string): Network | undefined {
    return this.tx.networks.get(id);
  }
}

/**
 * The service's Endpoint as stored: a VIP per attached network (in vip mode), published ports
 * with numbers filled in, and a VIP on the ingress network (made on first use) when a port is
 * published in ingress mode. VIPs of networks the service keeps are kept. A published port
 * another service already holds is refused.
 */
export function allocateEndpoint(
  tx: WriteTx,
  spec: ServiceSpec,
  previous: Service | undefined,
  book?: AddressBook,
): Endpoint | undefined {
  const ports = spec.EndpointSpec?.Ports ?? [];
  const networks = (spec.TaskTemplate.Networks ?? []).map((n) => n.Target);
  const mode = spec.EndpointSpec?.Mode ?? 'vip';
  const ingressPorts = ports.filter((p) => (p.PublishMode ?? 'ingress') === 'ingress');
  if (networks.length === 0 && ports.length === 0 && !spec.EndpointSpec) return undefined;

  // Ports published by other services, by protocol/number.
  const held = new Map<string, string>();
  for (const s of tx.services.find({ by: 'all' })) {
    if (previous && s.ID === previous.ID) continue;
    for (const p of s.Endpoint?.Ports ?? []) {
      if ((p.PublishMode ?? 'ingress') !== 'ingress' || !p.PublishedPort) continue;
      held.set(`${p.PublishedPort}/${p.Protocol ?? 'tcp'}`, s.Spec.Name);
    }
  }
  const resolvedPorts: PortConfig[] = [];
  for (const p of ports) {
    const protocol = p.Protocol ?? 'tcp';
    const publishMode = p.PublishMode ?? 'ingress';
    let published = p.PublishedPort ?? 0;
    if (publishMode === 'ingress') {
      if (published === 0) {
        const kept = previous?.Endpoint?.Ports?.find(
          (q) =>
            q.TargetPort === p.TargetPort &&
            (q.Protocol ?? 'tcp') === protocol &&
            (q.PublishMode ?? 'ingress') === 'ingress',
        );
        published = kept?.PublishedPort ?? 0;
        for (let n = DYNAMIC_PORT_FIRST; published === 0 && n <= DYNAMIC_PORT_LAST; n++) {
          if (!held.has(`${n}/${protocol}`)) published = n;
        }
        if (published === 0) throw conflict('no dynamic port left to publish');
      } else {
        const owner = held.get(`${published}/${protocol}`);
        if (owner !== undefined) {
          throw conflict(`port '${published}' is already in use by service '${owner}'`);
        }
      }
      held.set(`${published}/${protocol}`, spec.Name);
    }
    resolvedPorts.push({
      ...p,
      Protocol: protocol,
      PublishMode: publishMode,
      ...(published ? { PublishedPort: published } : {}),
    });
  }

  const vipNetworks = mode === 'vip' ? [...networks] : [];
  if (ingressPorts.length > 0) {
    let ingress = tx.networks.find({ by: 'all' }).find((n) => n.Spec.Ingress);
    if (!ingress) {
      ingress = createNetwork(tx, {
        Name: INGRESS_NETWORK_NAME,
        Ingress: true,
        Labels: {},
        DriverConfiguration: { Name: OVERLAY_DRIVER },
      });
    }
    vipNetworks.push(ingress.ID);
  }
  const addresses = book ?? new AddressBook(tx);
  const vips: EndpointVirtualIP[] = [];
  for (const id of vipNetworks) {
    const kept = previous?.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === id);
    if (kept) {
      vips.push(kept);
      continue;
    }
    const net = tx.networks.get(id);
    if (!net) throw notFound(`network ${id} not found`);
    vips.push({ NetworkID: id, Addr: addresses.allocate(net) });
  }
  return {
    Spec: spec.EndpointSpec ?? {},
    ...(resolvedPorts.length > 0 ? { Ports: resolvedPorts } : {}),
    ...(vips.length > 0 ? { VirtualIPs: vips } : {}),
  };
}

/** One address per network the task's service attaches to (ingress included). */
export function taskAttachments(book: AddressBook, service: Service): NetworkAttachment[] {
  const out: NetworkAttachment[] = [];
  for (const id of serviceNetworkIds(service)) {
    const net = book.network(id);
    if (!net) throw notFound(`network ${id} of service ${service.Spec.Name} not found`);
    out.push({ Network: net, Addresses: [book.allocate(net)] });
  }
  return out;
}

/**
 * Every node needs an address of its own on the ingress network (the routing mesh SNATs to it
 * so replies from a task on another node come back): true when it wrote one.
 */
export function allocateNodeIngress(tx: WriteTx): boolean {
  const ingress = tx.networks.find({ by: 'all' }).find((n) => n.Spec.Ingress);
  let book: AddressBook | undefined;
  let wrote = false;
  for (const n of tx.nodes.find({ by: 'all' })) {
    const others = (n.Attachments ?? []).filter((a) => a.Network.ID !== ingress?.ID);
    const has = (n.Attachments ?? []).some((a) => a.Network.ID === ingress?.ID);
    if (ingress && has) continue;
    if (!ingress && others.length === (n.Attachments ?? []).length) continue;
    const attachments = ingress
      ? [
          ...others,
          { Network: ingress, Addresses: [(book ??= new AddressBook(tx)).allocate(ingress)] },
        ]
      : others;
    const { Attachments: _old, ...rest } = n;
    tx.nodes.update({ ...rest, ...(attachments.length > 0 ? { Attachments: attachments } : {}) });
    wrote = true;
  }
  return wrote;
}

/** Whether a node still needs its ingress address written (cheap check before a write). */
export function nodeIngressPending(tx: ReadTx): boolean {
  const ingress = tx.networks.find({ by: 'all' }).find((n) => n.Spec.Ingress);
  return tx.nodes.find({ by: 'all' }).some((n) => {
    const has = (n.Attachments ?? []).some((a) => a.Network.ID === ingress?.ID);
    const stale = (n.Attachments ?? []).some((a) => a.Network.ID !== ingress?.ID);
    return ingress ? !has : stale;
  });
}
