import { spreadValue, type PlacementPreference } from '../api/index.js';
import { Heap } from './heap.js';
import type { NodeInfo } from './node-info.js';

/**
 * Swarm's spread strategy for a batch of identical tasks. With preferences, nodes form a tree
 * by label value, level by level (nodes lacking the label form one more branch, as in
 * swarmkit); each task goes down the branch holding the fewest tasks of the service. In a
 * leaf, the node with the fewest tasks of the service wins, then fewest tasks overall, then
 * the seeded rank. A node that fails a dynamic filter is dropped for the rest of the batch:
 * booking identical tasks only ever uses resources up, so it cannot become feasible again.
 */
export class SpreadTree {
  private readonly root: Branch;

  constructor(
    nodes: readonly NodeInfo[],
    private readonly serviceId: string,
    preferences: readonly PlacementPreference[],
    private readonly rank: ReadonlyMap<string, number>,
  ) {
    this.root = this.build(nodes, preferences, 0);
  }

  /** The next node for a task that passes `fits`, booked with `book`; undefined when none is left. */
  place(fits: (n: NodeInfo) => boolean, book: (n: NodeInfo) => void): NodeInfo | undefined {
    return this.placeIn(this.root, fits, book);
  }

  private placeIn(
    b: Branch,
    fits: (n: NodeInfo) => boolean,
    book: (n: NodeInfo) => void,
  ): NodeInfo | undefined {
    if (!b.alive) return undefined;
    if (b.heap) {
      for (let n = b.heap.peek(); n !== undefined; n = b.heap.peek()) {
        if (fits(n)) {
          book(n);
          b.heap.fixTop();
          b.count++;
          return n;
        }
        b.heap.pop();
      }
      b.alive = false;
      return undefined;
    }
    for (;;) {
      let best: Branch | undefined;
      for (const c of b.children) {
        if (
          c.alive &&
          (!best || c.count < best.count || (c.count === best.count && c.rank < best.rank))
        ) {
          best = c;
        }
      }
      if (!best) {
        b.alive = false;
        return undefined;
      }
      const n = this.placeIn(best, fits, book);
      if (n) {
        b.count++;
        return n;
      }
    }
  }

  private build(
    nodes: readonly NodeInfo[],
    prefs: readonly PlacementPreference[],
    level: number,
  ): Branch {
    let count = 0;
    let rank = Infinity;
    for (const n of nodes) {
      count += n.tasksByService.get(this.serviceId) ?? 0;
      rank = Math.min(rank, this.rank.get(n.node.ID) ?? 0);
    }
    const pref = prefs[level];
    if (!pref) {
      const heap = new Heap(nodes, (a, b) => this.less(a, b));
      return { alive: nodes.length > 0, count, rank, children: [], heap };
    }
    const groups = new Map<string, NodeInfo[]>();
    for (const n of nodes) {
      const v = spreadValue(pref.Spread.SpreadDescriptor, n.subject);
      const key = v === undefined ? '\u0000missing' : `=${v}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(n);
    }
    const children = [...groups.values()].map((g) => this.build(g, prefs, level + 1));
    return { alive: nodes.length > 0, count, rank, children };
  }

  private less(a: NodeInfo, b: NodeInfo): boolean {
    const sa = a.tasksByService.get(this.serviceId) ?? 0;
    const sb = b.tasksByService.get(this.serviceId) ?? 0;
    if (sa !== sb) return sa < sb;
    if (a.activeTasks !== b.activeTasks) return a.activeTasks < b.activeTasks;
    return (this.rank.get(a.node.ID) ?? 0) < (this.rank.get(b.node.ID) ?? 0);
  }
}

interface Branch {
  alive: boolean;
  /** Tasks of the service on the branch's nodes, including this run's bookings. */
  count: number;
  /** Lowest seeded rank among the branch's nodes: breaks ties between equal branches. */
  rank: number;
  children: Branch[];
  heap?: Heap<NodeInfo>;
}
