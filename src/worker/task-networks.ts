import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, TsswarmError, type Network, type Task } from '../api/index.js';
import type { NetworkView } from '../api/dispatch.js';
import {
  EMBEDDED_DNS_ADDR,
  type DnsTableSpec,
  type EndpointRulesSpec,
  type IngressSpec,
  type NetHost,
  type PublishedPort,
  type OverlayNode,
  type Peer,
  type ServiceVip,
} from '../overlay-net/index.js';

const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

/** The container side of a task's networks, for the runtime. */
export interface PreparedNetworks {
  netnsPath: string;
  resolvConf: string;
}

interface LocalEndpoint {
  netns: string;
  attachments: { networkId: string; ip: string; ifname: string }[];
}

export interface TaskNetworksOptions {
  overlay: OverlayNode;
  /** Runs unshare/umount in the daemon's own namespace. */
  host: NetHost;
  nodeId: string;
  /**
   * Where task namespaces are bind-mounted (`<exec-root>/netns`): under the daemon's own
   * directory, so a lab's rm (which unmounts everything there) takes them too.
   */
  netnsDir: string;
  /** This node's underlay address (VXLAN `local`, what peers send to). */
  localAddr: string;
  /**
   * How long a task that has left the load balancers keeps running before it is signalled, so
   * the other nodes (which got the same news from the managers at the same time) have dropped
   * it too. Docker waits 2 s (`defaultGossipConvergeDelay`); 1 s by default here.
   */
  leaveDelayMs?: number;
  log: Logger;
}

export const DEFAULT_LEAVE_DELAY_MS = 1000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
const ENDPOINT_RULES_IN_FLIGHT = 4;

/** Runs the jobs with at most `limit` in flight; never rejects, reports each outcome. */
async function settleAll(
  jobs: readonly (() => Promise<unknown>)[],
  limit: number,
): Promise<{ ok: boolean }[]> {
  const out: { ok: boolean }[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as () => Promise<unknown>;
      out.push(
        await job().then(
          () => ({ ok: true }),
          () => ({ ok: false }),
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  return out;
}

const ipOf = (cidr: string): string => cidr.split('/')[0] ?? cidr;

/** Docker's habit: 02:42 and the four octets of the address, so a MAC never needs storing. */
export function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(
    ':',
  );
}

function networkSpec(n: Network): { vni: number; subnet: string; gateway: string } | undefined {
  const cfg = n.IPAMOptions?.Configs[0];
  const vni = Number(n.DriverState?.Options?.[VXLAN_ID_OPTION]);
  if (!cfg?.Subnet || !cfg.Gateway || !Number.isInteger(vni)) return undefined;
  return { vni, subnet: cfg.Subnet, gateway: cfg.Gateway };
}

/**
 * The node side of the tasks' overlay networks: a network namespace per task, prepared with
 * one interface per attachment before the container starts in it; the node's bridges and
 * VXLAN devices while a local task uses them; peers, DNS names and VIP rules from the
 * managers' network view. Every kernel change runs in one queue, so a view and a task start
 * never interleave. After a daemon restart the next view adopts the namespaces that still
 * exist, so running containers keep their interfaces and only the rules are written again.
 */
export class TaskNetworks {
  private readonly local = new Map<string, LocalEndpoint>();
  /** Local tasks about to be stopped: no longer backends here, whatever the view says. */
  private readonly leaving = new Set<string>();
  /** Peers last written per network, so an unchanged set costs no process start. */
  private readonly peersApplied = new Map<string, string>();
  private readonly networks = new Map<string, Network>();
  private view: NetworkView | undefined;
  /** `ip/bits` this node carries on the ingress bridge, once set. */
  private ingressAddr: string | undefined;
  private portsApplied = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly o: TaskNetworksOptions) {
    this.log = o.log.child({ component: 'task-networks' });
  }

  netnsPath(taskId: string): string {
    return join(this.o.netnsDir, taskId);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Makes the task's namespace with its interfaces; undefined when it has no networks. */
  prepare(task: Task): Promise<PreparedNetworks | undefined> {
    const atts = task.NetworksAttachments ?? [];
    if (atts.length === 0) return Promise.resolve(undefined);
    return this.serial(async () => {
      const path = this.netnsPath(task.ID);
      await this.dropNetns(path);
      mkdirSync(this.o.netnsDir, { recursive: true });
      writeFileSync(path, '');
      await this.run('unshare', [`--net=${path}`, 'true']);
      const ep: LocalEndpoint = { netns: path, attachments: [] };
      this.local.set(task.ID, ep);
      try {
        for (const [i, a] of atts.entries()) {
          const addr = a.Addresses[0];
          if (addr === undefined) continue;
          await this.ensureNetwork(a.Network);
          const ip = ipOf(addr);
          const ifname = `eth${i}`;
          await this.o.overlay.attach(a.Network.ID, {
            id: task.ID,
            netns: { path },
            ip,
            mac: macOf(ip),
            ifname,
            // An internal network has no way out, so it gets no default route.
            defaultRoute: i === 0 && a.Network.Spec.Internal !== true,
          });
          ep.attachments.push({ networkId: a.Network.ID, ip, ifname });
        }
        await this.apply();
      } catch (err) {
        await this.releaseNow(task.ID);
        throw err;
      }
      return {
        netnsPath: path,
        resolvConf: `nameserver ${EMBEDDED_DNS_ADDR}\noptions ndots:0\n`,
      };
    });
  }

  get leaveDelayMs(): number {
    return this.o.leaveDelayMs ?? DEFAULT_LEAVE_DELAY_MS;
  }

  /**
   * The task is about to be stopped: from now on it is no VIP, published-port or DNS backend
   * on this node, before the managers' next view says so. Resolves true when the task had
   * network endpoints here (and so was, or could have been, a backend); idempotent.
   */
  deactivate(taskId: string): Promise<boolean> {
    if (!this.local.has(taskId) || this.leaving.has(taskId)) return Promise.resolve(false);
    this.leaving.add(taskId);
    return this.serial(async () => {
      // The stop goes on whatever happens here; the other nodes follow the managers anyway.
      await this.apply().catch((err: unknown) =>
        this.log.warn({ err, 'task.id': taskId }, 'stopping task not taken out of local backends'),
      );
      return true;
    });
  }

  /** The task's container is gone: its interfaces, rules and namespace go too. Idempotent. */
  release(taskId: string): Promise<void> {
    return this.serial(() => this.releaseNow(taskId));
  }

  /**
   * A newer view from the managers; older or foreign-session ones are ignored. A view that
   * could not be applied in full is tried again (after 1 s, then up to every 30 s) until it is
   * or a newer one comes, so a passing failure does not leave stale backends until the next
   * change in the cluster.
   */
  setView(view: NetworkView): Promise<void> {
    const cur = this.view;
    if (cur && cur.sessionId === view.sessionId && cur.seq >= view.seq) return Promise.resolve();
    this.view = view;
    this.retryMs = RETRY_FIRST_MS;
    return this.applyOrRetry();
  }

  private applyOrRetry(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.serial(() => this.apply()).catch((err: unknown) => {
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          if (this.closed) return;
          this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
          this.applyOrRetry().catch((e: unknown) =>
            this.log.warn({ err: e }, 'network view still not applied'),
          );
        }, this.retryMs);
        this.retryTimer.unref();
      }
      throw err;
    });
  }

  /** Swarm leave: every device, rule, DNS listener and task namespace of this node. */
  cleanupAll(): Promise<void> {
    // Done after this, as the overlay node is: no retry may bring a network back.
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    return this.serial(async () => {
      this.local.clear();
      this.leaving.clear();
      this.peersApplied.clear();
      this.networks.clear();
      this.ingressAddr = undefined;
      await this.o.overlay.cleanupAll();
      for (const path of this.ownNetns()) await this.dropNetns(path);
    });
  }

  /** Daemon stop: DNS sockets close, the kernel state stays for the next daemon. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.queue;
    await this.o.overlay.dns.close();
  }

  private ownNetns(): string[] {
    try {
      return readdirSync(this.o.netnsDir).map((n) => join(this.o.netnsDir, n));
    } catch {
      return [];
    }
  }

  /** Unmounts and removes a task namespace file; absent is fine. */
  private async dropNetns(path: string): Promise<void> {
    if (!existsSync(path)) return;
    // Not mounted (a crash between create and mount) is fine too: the file goes either way.
    await this.o.host.run('umount', [path]);
    rmSync(path, { force: true });
  }

  private async ensureNetwork(n: Network): Promise<void> {
    if (this.networks.has(n.ID)) return;
    const s = networkSpec(n);
    if (!s)
      throw new TsswarmError(
        ErrorCode.Unavailable,
        `network ${n.Spec.Name} has no subnet, gateway or VXLAN id yet`,
      );
    await this.o.overlay.createNetwork({
      id: n.ID,
      ...s,
      internal: n.Spec.Internal === true,
      localAddr: this.o.localAddr,
    });
    this.networks.set(n.ID, n);
  }

  private async releaseNow(taskId: string): Promise<void> {
    const ep = this.local.get(taskId);
    if (!ep) return;
    this.local.delete(taskId);
    this.leaving.delete(taskId);
    this.o.overlay.forgetEndpoint(taskId);
    for (const a of ep.attachments) {
      await this.o.overlay.detach(a.networkId, taskId).catch(() => undefined);
    }
    await this.dropNetns(ep.netns);
    await this.apply();
  }

  /** Converges the node to the view: networks in use, peers, DNS table, each task's VIPs. */
  private async apply(): Promise<void> {
    const view = this.view;
    if (view) this.adopt(view);
    const inUse = new Set<string>();
    for (const ep of this.local.values()) for (const a of ep.attachments) inUse.add(a.networkId);
    if (view?.ingress) inUse.add(view.ingress.networkId);
    for (const id of [...this.networks.keys()]) {
      if (inUse.has(id)) continue;
      this.networks.delete(id);
      this.peersApplied.delete(id);
      this.ingressAddr = undefined; // set again (idempotently) if ingress stays
      await this.o.overlay.removeNetwork(id);
      this.log.info({ 'net.id': id }, 'last local task left the network: removed');
    }
    const viewNets = new Map((view?.networks ?? []).map((n) => [n.ID, n]));
    for (const id of inUse) {
      const n = viewNets.get(id) ?? this.networks.get(id);
      if (n) await this.ensureNetwork(n);
    }
    if (!view) return;
    await this.applyIngressAddr(view);
    // A task the managers still call running but that is being stopped here serves no more.
    const endpoints = view.endpoints
      .filter((e) => inUse.has(e.networkId))
      .map((e) => (e.running && this.leaving.has(e.taskId) ? { ...e, running: false } : e));
    for (const id of inUse) {
      // Peers stay until a task is gone from the view, so a stop changes none: reading the
      // kernel's tables back (two process starts per network) is skipped when nothing changed,
      // which keeps a backend change quick on a loaded node.
      const peers: Peer[] = endpoints
        .filter((e) => e.networkId === id && e.nodeId !== this.o.nodeId && e.nodeAddr !== '')
        .map((e) => {
          const ip = ipOf(e.addr);
          return { ip, mac: macOf(ip), nodeAddr: e.nodeAddr };
        })
        .sort((a, b) => a.ip.localeCompare(b.ip));
      const key = JSON.stringify(peers);
      if (this.peersApplied.get(id) === key) continue;
      this.peersApplied.delete(id);
      await this.o.overlay.network(id).setPeers(peers);
      this.peersApplied.set(id, key);
    }
    const running = (netId: string, serviceId: string): string[] =>
      endpoints
        .filter((e) => e.running && e.networkId === netId && e.serviceId === serviceId)
        .map((e) => ipOf(e.addr));
    await this.applyPorts(view, endpoints);
    const table: DnsTableSpec = { networks: [], clients: [] };
    // Ingress carries the routing mesh only: no names and no VIPs are served on it.
    const ingressId = view.networks.find((n) => n.Spec.Ingress)?.ID;
    for (const id of inUse) {
      if (id === ingressId) continue;
      table.networks.push({
        id,
        services: view.services
          .filter(
            (s) =>
              s.vips.some((v) => v.networkId === id) ||
              endpoints.some((e) => e.serviceId === s.id && e.networkId === id),
          )
          .map((s) => {
            const vip = s.vips.find((v) => v.networkId === id);
            return {
              name: s.name,
              aliases: s.aliases.find((a) => a.networkId === id)?.names ?? [],
              endpointMode: s.endpointMode,
              ...(vip && s.endpointMode === 'vip' ? { vip: ipOf(vip.addr) } : {}),
              tasks: endpoints
                .filter((e) => e.running && e.networkId === id && e.serviceId === s.id)
                .map((e) => ({ ip: ipOf(e.addr), name: e.taskName })),
            };
          }),
      });
    }
    for (const ep of this.local.values()) {
      const networks = ep.attachments.map((x) => x.networkId);
      // Only a task on internal networks alone gets no answers about the outside.
      const external = networks.some((id) => this.networks.get(id)?.Spec.Internal !== true);
      for (const a of ep.attachments) table.clients.push({ addr: a.ip, networks, external });
    }
    this.o.overlay.setDnsTable(table);
    const rules: (() => Promise<unknown>)[] = [];
    for (const [taskId, ep] of this.local) {
      const first = ep.attachments[0];
      const firstNet = first ? this.networks.get(first.networkId) : undefined;
      const gateway = firstNet ? networkSpec(firstNet)?.gateway : undefined;
      const services: ServiceVip[] = [];
      for (const a of ep.attachments) {
        for (const s of view.services) {
          const vip = s.vips.find((v) => v.networkId === a.networkId);
          if (!vip || s.endpointMode !== 'vip' || a.networkId === ingressId) continue;
          services.push({
            name: `${s.name}@${a.networkId}`,
            vip: ipOf(vip.addr),
            backends: running(a.networkId, s.id),
          });
        }
      }
      const spec: EndpointRulesSpec = {
        ...(first && gateway
          ? {
              dns: {
                clientIp: first.ip,
                ifname: first.ifname,
                server: gateway,
                port: this.o.overlay.config.dnsPort,
              },
            }
          : {}),
        services,
      };
      rules.push(() =>
        this.o.overlay.setEndpointRules(taskId, { path: ep.netns }, spec).catch((err: unknown) => {
          this.log.warn({ err, 'task.id': taskId }, 'VIP rules not applied');
          throw err;
        }),
      );
    }
    // Each container's table is its own namespace and its own nft process: a few at a time, so
    // a backend change reaches N containers in about N/4 process starts, and one container that
    // fails does not keep the others on the old backends.
    const failed = (await settleAll(rules, ENDPOINT_RULES_IN_FLIGHT)).filter((r) => !r.ok).length;
    if (failed > 0)
      throw new TsswarmError(
        ErrorCode.Internal,
        `VIP rules of ${failed} local task(s) not applied`,
      );
  }

  /** The node's routing-mesh address on the ingress bridge (replies to SNATed traffic). */
  private async applyIngressAddr(view: NetworkView): Promise<void> {
    const ing = view.ingress;
    if (!ing || this.ingressAddr === ing.addr) return;
    const bridge = this.o.overlay.network(ing.networkId).bridge;
    const ip = ipOf(ing.addr);
    await this.run('ip', ['link', 'set', 'dev', bridge, 'address', macOf(ip)]);
    await this.run('ip', ['addr', 'replace', ing.addr, 'dev', bridge]);
    // A published port reached at 127.0.0.1 leaves through the bridge with a loopback source
    // until it is SNATed: only route_localnet lets it.
    await this.run('sysctl', ['-qw', `net.ipv4.conf.${bridge}.route_localnet=1`]);
    this.ingressAddr = ing.addr;
  }

  /** Published ports: ingress mode to every running task, host mode to the local ones. */
  private async applyPorts(view: NetworkView, endpoints: NetworkView['endpoints']): Promise<void> {
    const ports: PublishedPort[] = [];
    const ing = view.ingress;
    for (const s of view.services) {
      for (const p of s.ports) {
        const protocol = p.Protocol ?? 'tcp';
        if (protocol === 'sctp' || !p.PublishedPort) continue;
        const mode = p.PublishMode ?? 'ingress';
        const backends = endpoints
          .filter(
            (e) =>
              e.running &&
              e.serviceId === s.id &&
              (mode === 'ingress'
                ? e.networkId === ing?.networkId
                : e.nodeId === this.o.nodeId && e.ifIndex === 0),
          )
          .map((e) => ipOf(e.addr));
        if (mode === 'ingress' && !ing) continue;
        ports.push({
          protocol,
          publishedPort: p.PublishedPort,
          targetPort: p.TargetPort,
          mode,
          backends,
        });
      }
    }
    if (ports.length === 0) {
      if (this.portsApplied) await this.o.overlay.ingress.remove();
      this.portsApplied = false;
      return;
    }
    const spec: IngressSpec = { ports };
    if (ing) {
      spec.ingressBridge = this.o.overlay.network(ing.networkId).bridge;
      spec.snatAddr = ipOf(ing.addr);
    }
    await this.o.overlay.setPublishedPorts(spec);
    this.portsApplied = ports.length > 0;
  }

  private async run(cmd: string, args: string[]): Promise<void> {
    const r = await this.o.host.run(cmd, args);
    if (r.code !== 0)
      throw new TsswarmError(ErrorCode.Internal, `${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
  }

  /** After a restart: the view names our tasks whose namespaces still exist. */
  private adopt(view: NetworkView): void {
    const nets = new Map(view.networks.map((n) => [n.ID, n]));
    for (const e of view.endpoints) {
      if (e.nodeId !== this.o.nodeId || this.local.has(e.taskId)) continue;
      const name = this.netnsPath(e.taskId);
      if (!existsSync(name)) continue;
      const mine = view.endpoints.filter((x) => x.taskId === e.taskId);
      this.local.set(e.taskId, {
        netns: name,
        attachments: mine
          .filter((x) => nets.has(x.networkId))
          .sort((a, b) => a.ifIndex - b.ifIndex)
          .map((x) => ({ networkId: x.networkId, ip: ipOf(x.addr), ifname: `eth${x.ifIndex}` })),
      });
      this.log.info({ 'task.id': e.taskId }, 'adopted task network namespace');
    }
  }
}
