import type { Network, Task } from '../../api/index.js';
import type { NetworkView, NetworkViewEndpoint, NetworkViewService } from '../../api/dispatch.js';
import type { ReadTx } from '../store/index.js';
import { isAssignedTo } from './assignment-stream.js';

export type NodeNetworkView = Omit<NetworkView, 'sessionId' | 'seq'>;

const placed = (t: Task): boolean => t.NodeID !== '' && isAssignedTo(t, t.NodeID);

/**
 * What one node must know to realise its tasks' networks: the networks its placed tasks attach
 * to, every placed task address on those networks (with the node that holds it), and the
 * services there with their VIPs. Pure over one read transaction; sorted, so an unchanged view
 * serialises to the same bytes and is not sent again.
 */
export function nodeNetworkView(tx: ReadTx, nodeId: string): NodeNetworkView {
  const tasks = tx.tasks.find({ by: 'all' }).filter(placed);
  const networkIds = new Set<string>();
  for (const t of tasks) {
    if (t.NodeID !== nodeId) continue;
    for (const a of t.NetworksAttachments ?? []) networkIds.add(a.Network.ID);
  }
  // The routing mesh: every node takes part while some service publishes an ingress port.
  const ingressNet = tx.networks.find({ by: 'all' }).find((n) => n.Spec.Ingress);
  const meshUsed = tx.services
    .find({ by: 'all' })
    .some((s) => (s.Endpoint?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress'));
  const self = tx.nodes.get(nodeId);
  const selfIngress = self?.Attachments?.find((a) => a.Network.ID === ingressNet?.ID)?.Addresses[0];
  const ingress =
    ingressNet && meshUsed && selfIngress !== undefined
      ? { networkId: ingressNet.ID, addr: selfIngress }
      : undefined;
  if (ingress) networkIds.add(ingress.networkId);
  if (networkIds.size === 0) return { networks: [], services: [], endpoints: [] };
  const networks: Network[] = [];
  for (const id of [...networkIds].sort()) {
    const n =
      tx.networks.get(id) ??
      tasks.flatMap((t) => t.NetworksAttachments ?? []).find((a) => a.Network.ID === id)?.Network;
    if (n) networks.push(n);
  }
  const nodeAddr = new Map(tx.nodes.find({ by: 'all' }).map((n) => [n.ID, n.Status.Addr ?? '']));
  const endpoints: NetworkViewEndpoint[] = [];
  const serviceIds = new Set<string>();
  for (const t of tasks) {
    for (const [ifIndex, a] of (t.NetworksAttachments ?? []).entries()) {
      if (!networkIds.has(a.Network.ID)) continue;
      const addr = a.Addresses[0];
      if (addr === undefined) continue;
      serviceIds.add(t.ServiceID);
      endpoints.push({
        taskId: t.ID,
        taskName: t.Name ?? t.ID,
        serviceId: t.ServiceID,
        nodeId: t.NodeID,
        nodeAddr: nodeAddr.get(t.NodeID) ?? '',
        running: t.Status.State === 'running' && t.DesiredState === 'running',
        networkId: a.Network.ID,
        ifIndex,
        addr,
      });
    }
  }
  if (ingress) {
    for (const n of tx.nodes.find({ by: 'all' })) {
      const addr = n.Attachments?.find((a) => a.Network.ID === ingress.networkId)?.Addresses[0];
      if (addr === undefined) continue;
      endpoints.push({
        taskId: `node:${n.ID}`,
        taskName: n.Description.Hostname,
        serviceId: '',
        nodeId: n.ID,
        nodeAddr: nodeAddr.get(n.ID) ?? '',
        running: false,
        networkId: ingress.networkId,
        ifIndex: 0,
        addr,
      });
    }
  }
  const services: NetworkViewService[] = [];
  for (const s of tx.services.find({ by: 'all' })) {
    const vips = (s.Endpoint?.VirtualIPs ?? []).filter((v) => networkIds.has(v.NetworkID));
    if (vips.length === 0 && !serviceIds.has(s.ID)) continue;
    services.push({
      id: s.ID,
      name: s.Spec.Name,
      endpointMode: s.Spec.EndpointSpec?.Mode ?? 'vip',
      vips: vips.map((v) => ({ networkId: v.NetworkID, addr: v.Addr })),
      aliases: (s.Spec.TaskTemplate.Networks ?? [])
        .filter((n) => networkIds.has(n.Target) && (n.Aliases ?? []).length > 0)
        .map((n) => ({ networkId: n.Target, names: n.Aliases ?? [] })),
      ports: s.Endpoint?.Ports ?? [],
    });
  }
  endpoints.sort((a, b) =>
    a.taskId === b.taskId
      ? a.networkId.localeCompare(b.networkId)
      : a.taskId.localeCompare(b.taskId),
  );
  return { networks, services, endpoints, ...(ingress ? { ingress } : {}) };
}
