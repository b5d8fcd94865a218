import { invalidArgument, type PortConfig } from '../../api/index.js';

/**
 * Docker's `--publish` value: `[PUBLISHED:]TARGET[/PROTOCOL]` or the long form
 * `published=8080,target=80[,protocol=udp][,mode=host|ingress]` (`mode=host,8080:80` mixes both).
 */
export function parsePublish(value: string): PortConfig {
  const bad = (why: string) =>
    invalidArgument(`invalid argument "${value}" for "-p, --publish" flag: ${why}`);
  const port = (s: string, what: string, min: number): number => {
    if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > 65535) {
      throw bad(`invalid ${what} port ${JSON.stringify(s)}`);
    }
    return Number(s);
  };
  const out: PortConfig = { TargetPort: 0, Protocol: 'tcp', PublishMode: 'ingress' };
  let sawShort = false;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (sawShort) throw bad('more than one PUBLISHED:TARGET part');
      sawShort = true;
      const [ports = '', proto, ...more] = part.split('/');
      if (more.length > 0) throw bad('too many "/"');
      if (proto !== undefined) out.Protocol = protocol(proto, bad);
      const pieces = ports.split(':');
      if (pieces.length > 2) throw bad('host IPs cannot be given to a swarm service');
      if (pieces.length === 2) {
        if (pieces[0]!.includes('-')) throw bad('published port ranges are not supported');
        out.PublishedPort = port(pieces[0]!, 'published', 0);
      }
      out.TargetPort = port(pieces[pieces.length - 1]!, 'target', 1);
      continue;
    }
    const key = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (key === 'target') out.TargetPort = port(v, 'target', 1);
    else if (key === 'published') out.PublishedPort = port(v, 'published', 0);
    else if (key === 'protocol') out.Protocol = protocol(v, bad);
    else if (key === 'mode') {
      if (v !== 'host' && v !== 'ingress')
        throw bad(`invalid publish mode value (${v}): must be either "ingress" or "host"`);
      out.PublishMode = v;
    } else throw bad(`invalid field key ${key}`);
  }
  if (out.TargetPort === 0) throw bad('missing mandatory field "target"');
  return out;
}

function protocol(p: string, bad: (why: string) => Error): 'tcp' | 'udp' | 'sctp' {
  const v = p.toLowerCase();
  if (v !== 'tcp' && v !== 'udp' && v !== 'sctp')
    throw bad(`invalid protocol ${JSON.stringify(p)}`);
  return v;
}

/** The PORTS column of `service ls`: `*:8080->80/tcp`, host mode as docker prints it. */
export function formatPorts(ports: readonly PortConfig[] | undefined): string {
  return (ports ?? [])
    .filter((p) => (p.PublishedPort ?? 0) > 0)
    .map((p) => `*:${p.PublishedPort}->${p.TargetPort}/${p.Protocol ?? 'tcp'}`)
    .join(', ');
}
