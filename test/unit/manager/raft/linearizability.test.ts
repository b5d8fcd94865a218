import { describe, expect, it } from 'vitest';
import { checkKvHistory, type KvOperation } from '../../../sim/raft/linearizability.js';

const put = (
  client: number,
  value: string,
  prev: string | null | undefined,
  call: number,
  ret: number,
): KvOperation => ({
  client,
  key: 'k',
  kind: 'put',
  input: value,
  output: prev,
  call,
  ret,
});
const get = (client: number, value: string | null, call: number, ret: number): KvOperation => ({
  client,
  key: 'k',
  kind: 'get',
  input: null,
  output: value,
  call,
  ret,
});

describe('linearizability checker', () => {
  it('accepts a sequential history', () => {
    expect(
      checkKvHistory([put(1, 'a', null, 0, 1), get(1, 'a', 2, 3), put(1, 'b', 'a', 4, 5)]).ok,
    ).toBe(true);
  });

  it('accepts overlapping operations that can be ordered', () => {
    // The get overlaps the put and sees either value.
    expect(checkKvHistory([put(1, 'a', null, 0, 10), get(2, 'a', 1, 2)]).ok).toBe(true);
    expect(checkKvHistory([put(1, 'a', null, 0, 10), get(2, null, 1, 2)]).ok).toBe(true);
  });

  it('refuses a stale read after a completed write', () => {
    expect(checkKvHistory([put(1, 'a', null, 0, 1), get(2, null, 2, 3)]).ok).toBe(false);
  });

  it('refuses a read that goes back in time', () => {
    const h = [
      put(1, 'a', null, 0, 1),
      put(1, 'b', 'a', 2, 10),
      get(2, 'b', 3, 4),
      get(3, 'a', 5, 6),
    ];
    expect(checkKvHistory(h).ok).toBe(false);
  });

  it('refuses two writes that both saw the same previous value', () => {
    const h = [put(1, 'a', null, 0, 5), put(2, 'b', null, 1, 6)];
    expect(checkKvHistory(h).ok).toBe(false);
  });

  it('lets an unknown write take effect late or never', () => {
    expect(
      checkKvHistory([put(1, 'a', undefined, 0, Infinity), get(2, null, 1, 2), get(2, 'a', 3, 4)])
        .ok,
    ).toBe(true);
    expect(checkKvHistory([put(1, 'a', undefined, 0, Infinity), get(2, null, 5, 6)]).ok).toBe(true);
    // ...but not before it was called.
    expect(checkKvHistory([get(2, 'a', 0, 1), put(1, 'a', undefined, 2, Infinity)]).ok).toBe(false);
  });

  it('checks keys independently', () => {
    const other: KvOperation = { ...put(1, 'x', null, 0, 1), key: 'j' };
    const h = [other, put(1, 'a', null, 0, 1), get(2, null, 2, 3)];
    const r = checkKvHistory(h);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.key).toBe('k');
  });

  it('handles a long concurrent history quickly', () => {
    const h: KvOperation[] = [];
    let prev: string | null = null;
    for (let i = 0; i < 300; i++) {
      // Three clients overlap in windows; effects are in index order.
      const v = `v${i}`;
      h.push(put(i % 3, v, prev, i * 10, i * 10 + 25));
      prev = v;
    }
    const t = performance.now();
    expect(checkKvHistory(h).ok).toBe(true);
    expect(performance.now() - t).toBeLessThan(5000);
  });
});
