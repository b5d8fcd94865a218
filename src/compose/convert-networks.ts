import type { NetworkAttachmentConfig, NetworkSpec } from '../api/index.js';
import { compact, str, strList, strMap } from './convert-values.js';
import type { Converter } from './converter.js';
import { isObj, type Obj } from './normalize.js';

export interface StackNetwork {
  /** Key in the compose file (`default` for the implicit one). */
  key: string;
  external: boolean;
  spec: NetworkSpec;
}

export function networkAttachments(
  c: Converter,
  path: string[],
  svc: Obj,
  service: string,
): { attachments: NetworkAttachmentConfig[]; usesDefault: boolean } {
  const nets = isObj(svc['networks']) ? svc['networks'] : { default: null };
  let usesDefault = false;
  const attachments: NetworkAttachmentConfig[] = [];
  for (const [key, raw] of Object.entries(nets)) {
    const opts = isObj(raw) ? raw : {};
    let target: string | undefined;
    if (key === 'default' && !('default' in c.section('networks'))) {
      usesDefault = true;
      target = `${c.stack}_default`;
    } else {
      target = c.resolvedName('networks', key);
    }
    if (target === undefined) {
      c.fail(
        [...path, 'networks', key],
        `service uses undefined network ${JSON.stringify(key)}: declare it under the top-level networks`,
      );
      continue;
    }
    for (const k of [
      'ipv4_address',
      'ipv6_address',
      'link_local_ips',
      'mac_address',
      'priority',
      'gw_priority',
    ]) {
      if (k in opts)
        c.fail(
          [...path, 'networks', key, k],
          `${k} is not supported on swarm networks (the allocator assigns addresses)`,
        );
    }
    attachments.push(
      compact({
        Target: target,
        Aliases: [service, ...(strList(opts['aliases']) ?? [])],
        DriverOpts: isObj(opts['driver_opts']) ? strMap(opts['driver_opts']) : undefined,
      }),
    );
  }
  return { attachments, usesDefault };
}

export function convertNetworks(c: Converter, usesDefault: boolean): StackNetwork[] {
  const out: StackNetwork[] = [];
  const defs = c.section('networks');
  if (usesDefault) {
    out.push({
      key: 'default',
      external: false,
      spec: {
        Name: `${c.stack}_default`,
        Labels: c.labels({}),
        DriverConfiguration: { Name: 'overlay' },
        Scope: 'swarm',
      },
    });
  }
  for (const [key, raw] of Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))) {
    const n = isObj(raw) ? raw : {};
    const name = c.resolvedName('networks', key) ?? key;
    const external = n['external'] === true;
    const driver = str(n['driver']) ?? 'overlay';
    if (!external && driver !== 'overlay') {
      c.fail(
        ['networks', key, 'driver'],
        `network driver ${JSON.stringify(driver)} is not supported by tsswarm stacks (only overlay)`,
      );
    }
    const ipam = isObj(n['ipam']) ? n['ipam'] : undefined;
    out.push({
      key,
      external,
      spec: compact({
        Name: name,
        Labels: c.labels(n['labels']),
        DriverConfiguration: compact({
          Name: driver,
          Options: isObj(n['driver_opts']) ? strMap(n['driver_opts']) : undefined,
        }),
        Internal: n['internal'] === true ? true : undefined,
        Attachable: n['attachable'] === true ? true : undefined,
        IPv6Enabled: n['enable_ipv6'] === true ? true : undefined,
        IPAMOptions: ipam
          ? compact({
              Driver: typeof ipam['driver'] === 'string' ? { Name: ipam['driver'] } : undefined,
              Configs: Array.isArray(ipam['config'])
                ? ipam['config'].map((x) => {
                    const o = isObj(x) ? x : {};
                    return compact({
                      Subnet: str(o['subnet']),
                      Range: str(o['ip_range']),
                      Gateway: str(o['gateway']),
                    });
                  })
                : undefined,
            })
          : undefined,
        Scope: 'swarm' as const,
      }),
    });
  }
  return out;
}
