import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
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

/** The worker's overlay networking in this daemon's network namespace (a lab node's, in a lab). */
export function taskNetworks(nodeId: string, localAddr: string, log: Logger): TaskNetworks {
  let resolv = '';
  try {
    resolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    resolv = '';
  }
  const host = new ExecNetHost();
  const overlay = new OverlayNode({
    config: { ...defaultOverlayConfig(), dnsUpstreams: hostResolvers(resolv) },
    baseHost: host,
    log,
  });
  return new TaskNetworks({ overlay, host, nodeId, localAddr, log });
}
