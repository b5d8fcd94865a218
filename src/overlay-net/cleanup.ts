import { liveDnsServers } from './dns/dns-server.js';
import type { NetHost } from './net-host.js';
import { runChecked, runJson } from './net-host.js';
import { listTables } from './nft.js';
import { ownedDeviceRe, ownedTableRe } from './names.js';

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
 * Removes everything this library made on a node under the prefix: DNS listeners of this
 * process, every device and nft table. For a daemon start after a crash and for tests.
 */
export async function cleanupAll(host: NetHost, prefix: string): Promise<CleanupReport> {
  const servers = liveDnsServers(prefix);
  await Promise.all(servers.map((s) => s.close()));
  const owned = await listOwned(host, prefix);
  for (const d of owned.devices) {
    // A veth goes away with its peer, so a device may vanish between listing and deleting.
    await host.run('ip', ['link', 'del', d]);
  }
  for (const t of owned.tables) await runChecked(host, 'nft', ['delete', 'table', 'ip', t]);
  return { ...owned, dnsServers: servers.length };
}
