import { describe, expect, it } from 'vitest';
import { generateId, isId } from '../../../src/api/index.js';

describe('ids', () => {
  it('are 25 base36 characters from 128 random bits', () => {
    expect(generateId(() => new Uint8Array(16))).toBe('0'.repeat(25));
    const max = generateId(() => new Uint8Array(16).fill(255));
    expect(max).toHaveLength(25);
    expect(BigInt(`0x${'f'.repeat(32)}`).toString(36)).toBe(max);
    let seed = 1;
    const rnd = (n: number): Uint8Array =>
      Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 255);
    const id = generateId(rnd);
    expect(isId(id)).toBe(true);
    expect(generateId(rnd)).not.toBe(id);
  });
});
