import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatGoDuration, parseBytes, parseDurationNs } from '../../../src/compose/index.js';

describe('durations', () => {
  it('parses Go durations to nanoseconds', () => {
    expect(parseDurationNs('10s')).toBe(10e9);
    expect(parseDurationNs('1m30s')).toBe(90e9);
    expect(parseDurationNs('1.5h')).toBe(5400e9);
    expect(parseDurationNs('300ms')).toBe(300e6);
    expect(parseDurationNs('0')).toBe(0);
  });
  it('refuses a number without unit or an unknown unit', () => {
    expect(parseDurationNs('120')).toBeUndefined();
    expect(parseDurationNs('10sec')).toBeUndefined();
    expect(parseDurationNs('')).toBeUndefined();
  });
  it('prints as Go does', () => {
    expect(formatGoDuration(60e9)).toBe('1m0s');
    expect(formatGoDuration(3723.5e9)).toBe('1h2m3.5s');
    expect(formatGoDuration(500e6)).toBe('500ms');
    expect(formatGoDuration(1500)).toBe('1.5µs');
    expect(formatGoDuration(0)).toBe('0s');
  });
});

describe('byte sizes', () => {
  it('uses binary units as docker does', () => {
    expect(parseBytes('50M')).toBe(52428800);
    expect(parseBytes('1.5G')).toBe(1610612736);
    expect(parseBytes('512k')).toBe(524288);
    expect(parseBytes('1GiB')).toBe(1073741824);
    expect(parseBytes('100b')).toBe(100);
    expect(parseBytes(4096)).toBe(4096);
  });
  it('refuses what is not a size', () => {
    expect(parseBytes('lots')).toBeUndefined();
    expect(parseBytes('-1M')).toBeUndefined();
    expect(parseBytes(1.5)).toBeUndefined();
  });
});

describe('duration round trip', () => {
  it('parses back what it prints, for any whole number of nanoseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (ns) => {
        expect(parseDurationNs(formatGoDuration(ns))).toBe(ns);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
