import type { LocationIndex, Position } from './source.js';
import { joinPath } from './diagnostic.js';

/**
 * Where a key path was written, or the nearest written ancestor when the path was produced by
 * normalisation (an expanded port range, a merged list).
 */
export function locate(
  index: LocationIndex,
  path: readonly (string | number)[],
  preferKey = false,
): Position {
  for (let n = path.length; n >= 0; n--) {
    const key = joinPath(path.slice(0, n));
    const p = preferKey
      ? (index.key.get(key) ?? index.value.get(key))
      : (index.value.get(key) ?? index.key.get(key));
    if (p) return p;
  }
  return { line: 0, column: 0 };
}
