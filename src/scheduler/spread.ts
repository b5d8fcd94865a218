import { spreadValue, type PlacementPreference } from '../api/index.js';
import { constraintSubject } from './filter.js';
import type { NodeInfo } from './node-info.js';

/**
 * Swarm's spread strategy: with preferences, first the branch (label value) holding the fewest
 * tasks of the service, level by level; then, among the nodes left, the one with the fewest
 * tasks of the service, then fewest tasks overall; `rank` (seeded) breaks the remaining ties.
 * Nodes without the label form one more branch of their own, as in swarmkit.
 */
export function pickNode(
  feasible: readonly NodeInfo[],
  serviceId: string,
  preferences: readonly PlacementPreference[],
  rank: ReadonlyMap<string, number>,
): NodeInfo | undefined {
  let candidates = feasible;
  for (const pref of preferences) {
    if (candidates.length <= 1) break;
    const branches = new Map<string, NodeInfo[]>();
    for (const n of candidates) {
      const v = spreadValue(pref.Spread.SpreadDescriptor, constraintSubject(n.node));
      const key = v === undefined ? '\u0000missing' : `=${v}`;
      let b = branches.get(key);
      if (!b) branches.set(key, (b = []));
      b.push(n);
    }
    let best: NodeInfo[] | undefined;
    let bestCount = Infinity;
    let bestRank = Infinity;
    for (const b of branches.values()) {
      let count = 0;
      let r = Infinity;
      for (const n of b) {
        count += n.tasksByService.get(serviceId) ?? 0;
        r = Math.min(r, rank.get(n.node.ID) ?? 0);
      }
      if (count < bestCount || (count === bestCount && r < bestRank)) {
        best = b;
        bestCount = count;
        bestRank = r;
      }
    }
    candidates = best ?? candidates;
  }
  let chosen: NodeInfo | undefined;
  for (const n of candidates) {
    if (!chosen || better(n, chosen, serviceId, rank)) chosen = n;
  }
  return chosen;
}

function better(
  a: NodeInfo,
  b: NodeInfo,
  serviceId: string,
  rank: ReadonlyMap<string, number>,
): boolean {
  const sa = a.tasksByService.get(serviceId) ?? 0;
  const sb = b.tasksByService.get(serviceId) ?? 0;
  if (sa !== sb) return sa < sb;
  if (a.activeTasks !== b.activeTasks) return a.activeTasks < b.activeTasks;
  return (rank.get(a.node.ID) ?? 0) < (rank.get(b.node.ID) ?? 0);
}
