/**
 * Allocations are computed inside a store transaction from the committed state, and applying
 * does not re-check them: two transactions in flight at once could both take the same free
 * address. Every write that allocates runs on the leader (other managers forward writes), so
 * one queue per store there serialises them: the next allocation starts from a state that holds
 * the previous one.
 */
const queues = new WeakMap<object, Promise<unknown>>();

export function withAllocationLock<T>(store: object, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(store) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  queues.set(
    store,
    run.then(
      () => undefined,
      () => undefined,
    ),
  );
  return run;
}
