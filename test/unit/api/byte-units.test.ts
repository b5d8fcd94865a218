import { describe, expect, it } from 'vitest';
import { parseBytes } from '../../../src/api/index.js';

describe('byte sizes', () => {
  it('uses binary units as docker does', () => {
    expect(parseBytes('50M')).toBe(52428800);
    expect(parseBytes('1.5G')).toBe(1610612736);
    expect(parseBytes('512k')).toBe(524288);
    expect(parseBytes('1GiB')).toBe(1073741824);
    expect(parseBytes('100b')).toBe(100);
    expect(parseBytes(4096)).toBe(4096);
  });
  // What `-m`/`--memory` and `--mount tmpfs-size=` took before they shared this parser.
  it.each([
    ['1048576', 1048576],
    ['512m', 512 * 1024 ** 2],
    ['64MB', 64 * 1024 ** 2],
    ['1kb', 1024],
    ['2Gb', 2 * 1024 ** 3],
    ['1tb', 1024 ** 4],
    ['7B', 7],
    [' 512 m ', 512 * 1024 ** 2],
    ['512   m', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
  ])('takes %j', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });
  it('refuses what is not a size', () => {
    expect(parseBytes('lots')).toBeUndefined();
    expect(parseBytes('-1M')).toBeUndefined();
    expect(parseBytes(1.5)).toBeUndefined();
    expect(parseBytes('12parsecs')).toBeUndefined();
    expect(parseBytes('1x')).toBeUndefined();
    expect(parseBytes('')).toBeUndefined();
    expect(parseBytes('1.')).toBeUndefined();
  });
});
