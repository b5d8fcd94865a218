import type { PortConfig, ServiceSpec } from '../api/index.js';
import { compact, num, str } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj } from './normalize.js';

export function endpointSpec(
  c: Converter,
  path: string[],
  ports: unknown,
  endpointMode: string | undefined,
): ServiceSpec['EndpointSpec'] {
  const list = Array.isArray(ports) ? ports : [];
  const out: PortConfig[] = [];
  list.forEach((raw, i) => {
    const p = isObj(raw) ? raw : {};
    if (str(p['host_ip']))
      c.fail(
        [...path, i, 'host_ip'],
        'a swarm publishes ports on every address; host_ip cannot be honoured',
      );
    const published = p['published'];
    if (typeof published === 'string') {
      c.fail(
        [...path, i, 'published'],
        `published port ranges are not supported in long syntax, got ${JSON.stringify(published)}`,
      );
      return;
    }
    out.push(
      compact({
        Name: str(p['name']),
        Protocol: (str(p['protocol']) ?? 'tcp') as PortConfig['Protocol'],
        TargetPort: num(p['target']) ?? 0,
        PublishedPort: num(published),
        PublishMode: (str(p['mode']) ?? 'ingress') as PortConfig['PublishMode'],
      }),
    );
  });
  if (out.length === 0 && endpointMode === undefined) return undefined;
  return compact({
    Mode: endpointMode as 'vip' | 'dnsrr' | undefined,
    Ports: out.length > 0 ? out : undefined,
  });
}
