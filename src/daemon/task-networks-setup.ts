import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { invalidArgument } from '../api/index.js';
import {
  defaultOverlayConfig,
  ExecNetHost,
  OverlayNode,
  type UpstreamResolver,
} from '../overlay-net/index.js';
import { TaskNetworks } from '../worker/index.js';

/** The node's resolvers: where the embedded DNS sends names that are not services. */
export function hostResolvers(text: string): UpstreamResolver[] {
  const out: UpstreamResolver[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1] && isIP(m[1]) === 4) out.push({ host: m[1], port: 53 });
  }
  return out;
}

/**
 * `TSSWARM_DNS_UPSTREAMS` (comma-separated IPv4[:port], empty for none; the lab sets it empty)
 * overrides the host's /etc/resolv.conf.
 */
export function dnsUpstreams(
  env: string | undefined,
  resolvConf: () => string,
): UpstreamResolver[] {
  if (env === undefined) return hostResolvers(resolvConf());
  const out: UpstreamResolver[] = [];
  for (const item of env.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const [host = '', port = '53'] = item.split(':');
    if (isIP(host) !== 4 || !/^\d+$/.test(port)) {
      throw invalidArgument(`TSSWARM_DNS_UPSTREAMS: ${JSON.stringify(item)} is not IPv4[:port]`);
    }
    out.push({ host, port: Number(port) });
  }
  return out;
}

/** The worker's overlay networking in this daemon's network namespace (a lab node's, in a lab). */
export function taskNetworks(
  nodeId: string,
  localAddr: string,
  execRoot: string,
  log: Logger,
): TaskNetworks {
  const upstreams = dnsUpstreams(process.env['TSSWARM_DNS_UPSTREAMS'], () => {
    try {
      return readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      return '';
    }
  });
  const host = new ExecNetHost();
  const overlay = new OverlayNode({
    config: { ...defaultOverlayConfig(), dnsUpstreams: upstreams },
    baseHost: host,
    log,
  });
  return new TaskNetworks({
    overlay,
    host,
    nodeId,
    localAddr,
    netnsDir: join(execRoot, 'netns'),
    log,
  });
}
