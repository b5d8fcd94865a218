import type { ComposeHost } from '../../../src/compose/index.js';

/** Compose files held in memory, keyed by absolute path. */
export function memoryHost(files: Record<string, string>): ComposeHost {
  return {
    readFile: (path) => (path in files ? new TextEncoder().encode(files[path]) : undefined),
  };
}
