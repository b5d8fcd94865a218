/**
 * JSON with object keys sorted, so equal values serialise to equal text whatever their key
 * order; `undefined` members count as absent, as in `JSON.stringify`. The store encodes its
 * snapshots with it: the output must stay byte-for-byte what it is, or snapshots written by
 * one version would no longer compare equal to those of the next.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
