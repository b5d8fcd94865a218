import { liveDnsServers } from './dns/dns-server.js';
import type { NetHost } from './net-host.js';
import { runChecked, runJson } from './net-host.js';
import { listTables } from './nft.js';
import { deleteTableIfPresent } from './nft.js';
import { bridgeName, networkTableName, ownedDeviceRe, ownedTableRe, vxlanName } from './names.js';

export interface CleanupReport {
  devices: string[];
  tables: string[];
  dnsServers: number;
}

/** The devices and nft tables under the prefix in the host's namespace (what cleanupAll removes). */
export async function listOwned(
  host: NetHost,
  prefix: string,
): Promise<Omit<CleanupReport, 'dnsServers'>> {
  const links = await runJson<{ ifname: string }[]>(host, 'ip', ['-j', 'link', 'show']);
  const devRe = ownedDeviceRe(prefix);
  const tableRe = ownedTableRe(prefix);
  return {
    devices: links.map((l) => l.ifname).filter((n) => devRe.test(n)),
    tables: (await listTables(host))
      .filter((t) => t.family === 'ip' && tableRe.test(t.name))
      .map((t) => t.name),
  };
}

/**
 * Removes every device and nft table under the prefix in the host's namespace, including what
 * an earlier run left behind.
 */
export async function cleanupKernel(
  host: NetHost,
  prefix: string,
): Promise<Omit<CleanupReport, 'dnsServers'>> {
  const owned = await listOwned(host, prefix);
  for (const d of owned.devices) {
    // A veth goes away with its peer, so a device may vanish between listing and deleting.
    await host.run('ip', ['link', 'del', d]);
  }
  for (const t of owned.tables) await runChecked(host, 'nft', ['delete', 'table', 'ip', t]);
  return owned;
}

/**
 * Removes everything this library made on a node under the prefix: the DNS servers this
 * process runs under it, every device and nft table. For a daemon start after a crash and
 * for tests.
 */
export async function cleanupAll(host: NetHost, prefix: string): Promise<CleanupReport> {
  const servers = liveDnsServers(prefix);
  await Promise.all(servers.map((s) => s.close()));
  return { ...(await cleanupKernel(host, prefix)), dnsServers: servers.length };
}

/**
 * Removes one network's bridge, VXLAN device, the veths still on the bridge and its nft table,
 * knowing only its id (after a daemon restart there is no sandbox object). Absent parts are fine.
 */
export async function removeNetwork(
  host: NetHost,
  prefix: string,
  networkId: string,
): Promise<void> {
  const bridge = bridgeName(prefix, networkId);
  const vxlan = vxlanName(prefix, networkId);
  const exists = async (name: string): Promise<boolean> =>
    (await host.run('ip', ['-j', 'link', 'show', 'dev', name])).code === 0;
  if (await exists(bridge)) {
    const ports = await runJson<{ ifname: string }[]>(host, 'ip', [
      '-j',
      'link',
      'show',
      'master',
      bridge,
    ]);
    for (const p of ports) {
      if (p.ifname !== vxlan) await host.run('ip', ['link', 'del', p.ifname]);
    }
    await runChecked(host, 'ip', ['link', 'del', bridge]);
  }
  if (await exists(vxlan)) await runChecked(host, 'ip', ['link', 'del', vxlan]);
  await deleteTableIfPresent(host, networkTableName(prefix, networkId));
}
