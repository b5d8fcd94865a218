import type { Task } from '../api/index.js';
import { defaultFilters, type Filter } from './filter.js';
import type { NodeInfo } from './node-info.js';

/**
 * Runs the filters for one task and remembers why nodes were turned down, so an unplaceable
 * task can say "no suitable node (insufficient memory on 3 nodes; …)". Static and dynamic
 * filters run separately so a batch pays for the static ones once.
 */
export class Pipeline {
  private staticFilters: Filter[] = [];
  private dynamicFilters: Filter[] = [];
  private failures = new Map<Filter, number>();

  constructor(private readonly filters: Filter[] = defaultFilters()) {}

  setTask(t: Task): void {
    const active = this.filters.filter((f) => f.setTask(t));
    this.staticFilters = active.filter((f) => !f.dynamic);
    this.dynamicFilters = active.filter((f) => f.dynamic);
    this.failures = new Map();
  }

  check(n: NodeInfo): boolean {
    return this.run(this.staticFilters, n) && this.run(this.dynamicFilters, n);
  }

  checkStatic(n: NodeInfo): boolean {
    return this.run(this.staticFilters, n);
  }

  checkDynamic(n: NodeInfo): boolean {
    return this.run(this.dynamicFilters, n);
  }

  /** The rejection counts so far, to seed the next task of the batch after its static pass. */
  failureCounts(): Map<Filter, number> {
    return new Map(this.failures);
  }

  seedFailures(counts: ReadonlyMap<Filter, number>): void {
    this.failures = new Map(counts);
  }

  private run(filters: readonly Filter[], n: NodeInfo): boolean {
    for (const f of filters) {
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
