import { TsswarmError, ErrorCode } from '../../api/index.js';
import { passes, type StoreEvent, type WatchFilter } from './events.js';

export const DEFAULT_WATCH_QUEUE = 10_000;

/**
 * One subscriber: a bounded queue drained by `for await`. Pushing never blocks the store;
 * a reader that falls `maxQueue` events behind gets an error and must resync.
 */
export class Watcher implements AsyncIterable<StoreEvent> {
  private readonly queue: StoreEvent[] = [];
  private waiting: ((r: IteratorResult<StoreEvent>) => void) | undefined;
  private failWaiting: ((e: Error) => void) | undefined;
  private closed = false;
  private error: Error | undefined;
  private readonly maxQueue: number;

  constructor(
    private readonly filter: WatchFilter,
    private readonly onClose: (w: Watcher) => void,
  ) {
    this.maxQueue = filter.maxQueue ?? DEFAULT_WATCH_QUEUE;
    filter.signal?.addEventListener('abort', () => this.close(), { once: true });
    if (filter.signal?.aborted) this.close();
  }

  /** Called from `apply`: must never throw, whatever the subscriber's `match` does. */
  push(e: StoreEvent): void {
    if (this.closed) return;
    let wanted: boolean;
    try {
      wanted = passes(this.filter, e);
    } catch (err) {
      this.fail(new TsswarmError(ErrorCode.Internal, 'store watch filter threw', { cause: err }));
      return;
    }
    if (!wanted) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      this.failWaiting = undefined;
      w({ value: e, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.fail(
        new TsswarmError(
          ErrorCode.Unavailable,
          `store watcher fell ${this.maxQueue} events behind`,
        ),
      );
      return;
    }
    this.queue.push(e);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: undefined, done: true });
    }
  }

  private fail(err: Error): void {
    this.error = err;
    this.queue.length = 0;
    const f = this.failWaiting;
    this.waiting = undefined;
    this.failWaiting = undefined;
    this.close();
    f?.(err);
  }

  [Symbol.asyncIterator](): AsyncIterator<StoreEvent> {
    return {
      next: () => {
        const e = this.queue.shift();
        if (e !== undefined) return Promise.resolve({ value: e, done: false });
        if (this.error) return Promise.reject(this.error);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
