import type { Task } from '../api/index.js';
import { defaultFilters, type Filter } from './filter.js';
import type { NodeInfo } from './node-info.js';

/**
 * Runs the filters for one task and remembers why nodes were turned down, so an unplaceable
 * task can say "no suitable node (insufficient memory on 3 nodes; …)".
 */
export class Pipeline {
  private active: Filter[] = [];
  private readonly failures = new Map<Filter, number>();

  constructor(private readonly filters: Filter[] = defaultFilters()) {}

  setTask(t: Task): void {
    this.active = this.filters.filter((f) => f.setTask(t));
    this.failures.clear();
  }

  check(n: NodeInfo): boolean {
    for (const f of this.active) {
      if (!f.check(n)) {
        this.failures.set(f, (this.failures.get(f) ?? 0) + 1);
        return false;
      }
    }
    return true;
  }

  /** Most common reason first; the filter order breaks ties. */
  explain(): string {
    const parts = [...this.failures.entries()]
      .map(([f, n]) => ({ text: f.explain(n), n, order: this.filters.indexOf(f) }))
      .sort((a, b) => b.n - a.n || a.order - b.order)
      .map((p) => p.text);
    return parts.length === 0 ? 'no suitable node' : `no suitable node (${parts.join('; ')})`;
  }
}
