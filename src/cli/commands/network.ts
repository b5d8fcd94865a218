import type { Command } from 'commander';
import { invalidArgument, type Network, type NetworkSpec } from '../../api/index.js';
import { dockerFields } from '../../display/index.js';
import { formatObjects, formatRows } from '../../display/list-format.js';
import { ApiClient, clientTarget } from '../client.js';
import { globalOptions } from '../context.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function client(cmd: Command): ApiClient {
  return new ApiClient(clientTarget(globalOptions(cmd)));
}

/** A stored network in the shape `docker network inspect` prints. */
export function dockerNetwork(n: Network): Record<string, unknown> {
  return {
    Name: n.Spec.Name,
    Id: n.ID,
    Created: n.CreatedAt,
    Scope: 'swarm',
    Driver: n.Spec.DriverConfiguration?.Name ?? 'overlay',
    EnableIPv6: n.Spec.IPv6Enabled === true,
    IPAM: {
      Driver: n.IPAMOptions?.Driver.Name ?? 'default',
      Options: null,
      Config: (n.IPAMOptions?.Configs ?? []).map((c) => ({
        Subnet: c.Subnet,
        Gateway: c.Gateway,
      })),
    },
    Internal: n.Spec.Internal === true,
    Attachable: n.Spec.Attachable === true,
    Ingress: n.Spec.Ingress === true,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: null,
    Options: n.DriverState?.Options ?? {},
    Labels: n.Spec.Labels ?? {},
  };
}

interface CreateFlags {
  driver: string;
  subnet: string[];
  gateway: string[];
  attachable?: boolean;
  internal?: boolean;
  label: string[];
  ipv6?: boolean;
}

export function registerNetworkCommands(program: Command): void {
  const network = program.command('network').description('Manage swarm networks');

  network
    .command('create')
    .description('Create a network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'driver to manage the network (only overlay)', 'overlay')
    .option('--subnet <cidr>', 'subnet in CIDR format', collect, [])
    .option('--gateway <ip>', 'IPv4 gateway for the subnet', collect, [])
    .option('--attachable', 'enable manual container attachment')
    .option('--internal', 'restrict external access to the network')
    .option('--label <K=V>', 'set metadata on a network', collect, [])
    .option('--ipv6', 'enable IPv6 networking')
    .action(async (name: string, f: CreateFlags, cmd: Command) => {
      if (f.subnet.length > 1)
        throw invalidArgument('only one --subnet per overlay network is supported');
      if (f.gateway.length > f.subnet.length) {
        throw invalidArgument('every --gateway needs a --subnet');
      }
      const labels: Record<string, string> = {};
      for (const kv of f.label) {
        const i = kv.indexOf('=');
        const k = i < 0 ? kv : kv.slice(0, i);
        if (k === '')
          throw invalidArgument(`invalid argument "${kv}" for "--label" flag: empty key`);
        labels[k] = i < 0 ? '' : kv.slice(i + 1);
      }
      const spec: NetworkSpec = {
        Name: name,
        Labels: labels,
        DriverConfiguration: { Name: f.driver },
        ...(f.internal ? { Internal: true } : {}),
        ...(f.attachable ? { Attachable: true } : {}),
        ...(f.ipv6 ? { IPv6Enabled: true } : {}),
        ...(f.subnet[0] !== undefined
          ? {
              IPAMOptions: {
                Driver: { Name: 'default' },
                Configs: [
                  { Subnet: f.subnet[0], ...(f.gateway[0] ? { Gateway: f.gateway[0] } : {}) },
                ],
              },
            }
          : {}),
      };
      const { ID } = await client(cmd).post<{ ID: string }>('/networks/create', spec);
      process.stdout.write(`${ID}\n`);
    });

  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-q, --quiet', 'only display network IDs')
    .option('--format <format>', 'table, json, or a Go template such as {{.Name}}')
    .action(async (opts: { quiet?: boolean; format?: string }, cmd: Command) => {
      const nets = await client(cmd).get<Network[]>('/networks');
      nets.sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
      if (opts.quiet) {
        process.stdout.write(nets.map((n) => `${n.ID.slice(0, 12)}\n`).join(''));
        return;
      }
      const rows = nets.map((n) => ({
        ID: n.ID.slice(0, 12),
        Name: n.Spec.Name,
        Driver: n.Spec.DriverConfiguration?.Name ?? 'overlay',
        Scope: 'swarm',
        Internal: String(n.Spec.Internal === true),
        Labels: Object.entries(n.Spec.Labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      }));
      process.stdout.write(
        formatRows(rows, opts.format, [
          { header: 'NETWORK ID', field: 'ID' },
          { header: 'NAME', field: 'Name' },
          { header: 'DRIVER', field: 'Driver' },
          { header: 'SCOPE', field: 'Scope' },
        ]),
      );
    });

  network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<network...>')
    .option('-f, --format <format>', 'json (default), or a Go template such as {{.Id}}')
    .action(async (refs: string[], o: { format?: string }, cmd: Command) => {
      const api = client(cmd);
      const out: Record<string, unknown>[] = [];
      for (const r of refs) {
        out.push(dockerNetwork(await api.get<Network>(`/networks/${encodeURIComponent(r)}`)));
      }
      process.stdout.write(formatObjects(out, o.format, dockerFields.Network));
    });

  network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<network...>')
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const api = client(cmd);
      for (const r of refs) {
        await api.delete(`/networks/${encodeURIComponent(r)}`);
        process.stdout.write(`${r}\n`);
      }
    });
}
