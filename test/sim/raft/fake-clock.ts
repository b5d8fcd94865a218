import type { Clock, TimerHandle } from '../../../src/manager/raft/index.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Simulated time. Timers fire in (time, creation order), so a run depends only on its seed.
 * `defer` is a zero-delay timer: it runs after everything already due at this instant.
 */
export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private heap: Timer[] = [];

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(t);
    return t;
  }
  clearTimeout(handle: TimerHandle): void {
    if (handle !== undefined && handle !== null) (handle as Timer).cancelled = true;
  }
  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  /**
   * Fires timers until `until` (simulated ms). Between timers it yields to the microtask queue
   * a fixed number of times, so promise continuations run at a deterministic point.
   */
  async runUntil(until: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      const t = this.heap[0];
      if (t === undefined || t.at > until) break;
      this.pop();
      if (t.cancelled) continue;
      this.time = t.at;
      t.fn();
      for (let i = 0; i < 6; i++) await Promise.resolve();
      if (stop?.() === true) return;
    }
    this.time = Math.max(this.time, until);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
