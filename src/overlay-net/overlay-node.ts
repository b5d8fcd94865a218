import type { Logger } from 'pino';
import { notFound } from '../api/errors.js';
import { cleanupKernel, removeNetwork } from './cleanup.js';
import { DnsServer } from './dns/dns-server.js';
import type { DnsTableSpec } from './dns/dns-table.js';
import type { NetnsRef } from './exec-net-host.js';
import { ExecNetHost, inNetns } from './exec-net-host.js';
import type { CleanupReport } from './cleanup.js';
import { EndpointRules } from './endpoint-rules.js';
import type { EndpointRulesSpec } from './endpoint-rules.js';
import { IngressRules } from './ingress-rules.js';
import type { IngressSpec } from './ingress-rules.js';
import type { NetHost } from './net-host.js';
import { NetworkSandbox } from './network-sandbox.js';
import type { EndpointSpec, NetworkSpec } from './network-sandbox.js';
import { openDnsListener } from './netns-sockets.js';
import type { OverlayConfig } from './overlay-config.js';
import { validateOverlayConfig } from './overlay-config.js';

export interface OverlayNodeOptions {
  config: OverlayConfig;
  /** The node's namespace when it is not this process's own (lab nodes, tests). */
  netns?: NetnsRef;
  /** Runs commands in this process's namespace; ExecNetHost by default. */
  baseHost?: NetHost;
  log?: Logger;
}

/**
 * The worker's entry point: the node's networks, its embedded DNS server (one listener on each
 * network's gateway), its published ports, and the rules inside each container.
 */
export class OverlayNode {
  readonly host: NetHost;
  readonly config: OverlayConfig;
  readonly dns: DnsServer;
  readonly ingress: IngressRules;
  private readonly networks = new Map<string, NetworkSandbox>();
  private readonly endpoints = new Map<string, EndpointRules>();
  private readonly base: NetHost;
  private readonly log: Logger | undefined;

  constructor(private readonly options: OverlayNodeOptions) {
    this.config = validateOverlayConfig(options.config);
    this.base = options.baseHost ?? new ExecNetHost();
    this.host = options.netns ? inNetns(this.base, options.netns) : this.base;
    this.log = options.log?.child({ component: 'overlay-net' });
    const dnsOptions = {
      prefix: this.config.prefix,
      upstreams: this.config.dnsUpstreams,
      upstreamTimeoutMs: this.config.dnsUpstreamTimeoutMs,
    };
    this.dns = new DnsServer(this.log ? { ...dnsOptions, log: this.log } : dnsOptions);
    this.ingress = new IngressRules(this.host, this.config.prefix);
  }

  /** Creates (or completes) the network here and serves DNS on its gateway. */
  async createNetwork(spec: NetworkSpec): Promise<NetworkSandbox> {
    const existing = this.networks.get(spec.id);
    if (existing) return existing;
    const s = new NetworkSandbox(this.host, spec, this.config, this.log);
    await s.create();
    try {
      const listener = await openDnsListener(
        this.options.netns ?? null,
        spec.gateway,
        this.config.dnsPort,
      );
      this.dns.addListener(spec.id, listener);
    } catch (err) {
      await s.remove();
      throw err;
    }
    this.networks.set(spec.id, s);
    return s;
  }

  network(id: string): NetworkSandbox {
    const s = this.networks.get(id);
    if (!s) throw notFound(`network ${id} is not set up on this node`);
    return s;
  }

  /** Removes the network, also one left over from an earlier run of the daemon. */
  async removeNetwork(id: string): Promise<void> {
    await this.dns.removeListener(id);
    await removeNetwork(this.host, this.config.prefix, id);
    this.networks.delete(id);
  }

  /** Attaches a container; its rules (VIPs, DNS redirect) are set with setEndpointRules. */
  async attach(networkId: string, ep: EndpointSpec): Promise<void> {
    await this.network(networkId).attach(ep);
  }

  async detach(networkId: string, endpointId: string): Promise<void> {
    await this.network(networkId).detach(endpointId);
  }

  /**
   * The VIPs a container sees and where its DNS queries go. Keyed by container so that an
   * unchanged set costs nothing; the worker calls it whenever a backend set changes.
   */
  async setEndpointRules(
    containerId: string,
    netns: NetnsRef,
    spec: EndpointRulesSpec,
  ): Promise<boolean> {
    let rules = this.endpoints.get(containerId);
    if (!rules) {
      rules = new EndpointRules(inNetns(this.host, netns), this.config.prefix);
      this.endpoints.set(containerId, rules);
    }
    return rules.apply(spec);
  }

  /** Forgets a container's rules (its namespace goes away with it). */
  forgetEndpoint(containerId: string): void {
    this.endpoints.delete(containerId);
  }

  setDnsTable(spec: DnsTableSpec): void {
    this.dns.setTable(spec);
  }

  async setPublishedPorts(spec: IngressSpec): Promise<boolean> {
    return this.ingress.apply(spec);
  }

  /**
   * Removes everything under the node's prefix in its namespace, including what an earlier run
   * left, and stops its DNS server: the node object is done after this.
   */
  async cleanupAll(): Promise<CleanupReport> {
    this.networks.clear();
    this.endpoints.clear();
    await this.dns.close();
    return { ...(await cleanupKernel(this.host, this.config.prefix)), dnsServers: 1 };
  }
}
