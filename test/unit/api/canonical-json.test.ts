import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson } from '../../../src/api/index.js';

// The store's encoding before the copies were merged: snapshots must stay byte-identical.
function storeEncodingBefore(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

describe('canonicalJson', () => {
  it('ignores key order and undefined members, keeps array order and null', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: undefined, e: null })).toBe(
      '{"b":[1,{"c":2,"d":1}],"e":null}',
    );
    expect(canonicalJson({ e: null, b: [1, { c: 2, d: 1 }] })).toBe(
      canonicalJson({ b: [1, { d: 1, c: 2 }], a: undefined, e: null }),
    );
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
  it('writes undefined in an array as null, as JSON does', () => {
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
  });
  it('keeps the engine order of integer-like keys (what the store has always written)', () => {
    expect(canonicalJson({ b: 1, 10: 2, 9: 3, a: 4 })).toBe('{"9":3,"10":2,"a":4,"b":1}');
  });
  it('encodes any JSON value byte for byte as the store did', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(storeEncodingBefore(v));
      }),
      { seed: 14, numRuns: 500 },
    );
  });
});
