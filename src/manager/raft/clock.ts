import type { Clock } from './types.js';

/** The production clock: wall time for timers, setImmediate for batching. */
export function systemClock(): Clock {
  return {
    now: () => performance.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    defer: (fn) => {
      setImmediate(fn);
    },
  };
}
