import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TsswarmError, ErrorCode } from '../api/errors.js';
import { runChecked, type LabHost } from './lab-host.js';
import type { LabNode, LabState } from './lab-state.js';
import { bridgeName, nodeLinkName } from './names.js';

/** The bridge-family table in the hub that cuts links: a port whose name is in @cut drops. */
const partitionTable = 'tsswarm_lab';
const partitionRules = `table bridge ${partitionTable} {
  set cut { type ifname; }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname @cut drop
    oifname @cut drop
  }
}
`;

export const netnsPath = (ns: string): string => `/run/netns/${ns}`;

export async function listNetns(host: LabHost): Promise<string[]> {
  const out = (await runChecked(host, 'ip', ['-j', 'netns', 'list'])).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name);
}

/**
 * The hub namespace with the bridge and the partition table, and per node a namespace with
 * its veth, address, hostname (UTS namespace) and forwarding.
 */
export async function buildNetwork(host: LabHost, state: LabState): Promise<void> {
  const hub = state.hubNetns;
  const prefix = state.subnet.split('/')[1] ?? '24';
  // One `ip -batch` per namespace: a lab of 5 nodes takes ~4 spawns per node, not ~10.
  const batch = (lines: string[]) => `${lines.join('\n')}\n`;
  await runChecked(
    host,
    'ip',
    ['-batch', '-'],
    batch([hub, ...state.nodes.map((n) => n.netns)].map((ns) => `netns add ${ns}`)),
  );
  await runChecked(
    host,
    'ip',
    ['-n', hub, '-batch', '-'],
    batch([
      'link set lo up',
      `link add ${bridgeName} type bridge`,
      `link set ${bridgeName} up`,
      // The veth is born in the hub with its peer already in the node: no device ever
      // appears in the host's namespace, not even for a moment.
      ...state.nodes.flatMap((n) => [
        `link add ${n.hubVeth} type veth peer name ${nodeLinkName} netns ${n.netns}`,
        `link set ${n.hubVeth} master ${bridgeName} up`,
      ]),
    ]),
  );
  await runChecked(
    host,
    'nsenter',
    [`--net=${netnsPath(hub)}`, '--', 'nft', '-f', '-'],
    partitionRules,
  );
  for (const n of state.nodes) {
    await runChecked(
      host,
      'ip',
      ['-n', n.netns, '-batch', '-'],
      batch([
        'link set lo up',
        `addr add ${n.address}/${prefix} dev ${nodeLinkName}`,
        `link set ${nodeLinkName} up`,
      ]),
    );
    await mkdir(dirname(n.utsFile), { recursive: true });
    await writeFile(n.utsFile, '');
    await runChecked(host, 'unshare', [`--uts=${n.utsFile}`, 'hostname', n.hostname]);
    // Tasks' bridges and the routing mesh forward between interfaces, as on a real host.
    await runChecked(host, 'nsenter', [
      `--net=${netnsPath(n.netns)}`,
      '--',
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
    ]);
  }
}

/** Puts the node's hub port in the @cut set (or takes it out): its link drops both ways. */
export async function cutLink(
  host: LabHost,
  state: LabState,
  n: LabNode,
  cut: boolean,
): Promise<void> {
  const nft = (args: string[]) =>
    host.run('nsenter', [`--net=${netnsPath(state.hubNetns)}`, '--', 'nft', ...args]);
  const listed = await nft(['-j', 'list', 'set', 'bridge', partitionTable, 'cut']);
  if (listed.code !== 0) throw new TsswarmError(ErrorCode.Internal, `nft: ${listed.stderr.trim()}`);
  const doc = JSON.parse(listed.stdout) as { nftables: { set?: { elem?: string[] } }[] };
  const present = doc.nftables.some((e) => e.set?.elem?.includes(n.hubVeth) === true);
  if (present !== cut) {
    const verb = cut ? 'add' : 'delete';
    const r = await nft([verb, 'element', 'bridge', partitionTable, 'cut', `{ "${n.hubVeth}" }`]);
    if (r.code !== 0) throw new TsswarmError(ErrorCode.Internal, `nft ${verb}: ${r.stderr.trim()}`);
  }
}

/** Deletes the namespaces, and with them the veths, the bridge and the nft tables. */
export async function deleteNamespaces(host: LabHost, namespaces: Iterable<string>): Promise<void> {
  for (const ns of namespaces) {
    const r = await host.run('ip', ['netns', 'del', ns]);
    if (r.code !== 0 && (await listNetns(host)).includes(ns)) {
      throw new TsswarmError(ErrorCode.Internal, `ip netns del ${ns}: ${r.stderr.trim()}`);
    }
  }
}
