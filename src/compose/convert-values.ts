// Readers for the loosely typed values of a normalised compose file, and `compact`, which
// makes the specs built from them fit `exactOptionalPropertyTypes`.
import { parseDurationNs } from '../api/index.js';
import { isObj } from './normalize.js';

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
export const strList = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.map(String) : undefined;
export const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isObj(v))
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
};
export const ns = (v: unknown): number | undefined =>
  typeof v === 'string' ? parseDurationNs(v) : undefined;

/** `T` with every key that may be undefined made optional instead. */
export type Compact<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Removes keys whose value is undefined, for `exactOptionalPropertyTypes`. */
export function compact<T extends object>(o: T): Compact<T> {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o as Compact<T>;
}
