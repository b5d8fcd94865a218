import { watch } from 'node:fs';

/** Resolves when something in `dir` changes, or after `maxMs` (a watch can miss events). */
export function waitForChange(dir: string, maxMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let w: ReturnType<typeof watch> | undefined;
    const done = (): void => {
      clearTimeout(timer);
      w?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    try {
      w = watch(dir, done);
      w.on('error', done);
    } catch {
      // dir gone: the timer resolves
    }
    signal?.addEventListener('abort', done);
  });
}
