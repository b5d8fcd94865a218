import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatGoDuration, parseDurationNs } from '../../../src/api/index.js';

describe('durations', () => {
  it('parses Go durations to nanoseconds', () => {
    expect(parseDurationNs('10s')).toBe(10e9);
    expect(parseDurationNs('1m30s')).toBe(90e9);
    expect(parseDurationNs('1.5h')).toBe(5400e9);
    expect(parseDurationNs('300ms')).toBe(300e6);
    expect(parseDurationNs('0')).toBe(0);
  });
  it('takes a sign and both spellings of µs, as Go does', () => {
    expect(parseDurationNs('-5s')).toBe(-5e9);
    expect(parseDurationNs('+5s')).toBe(5e9);
    expect(parseDurationNs('3µs')).toBe(3e3);
    expect(parseDurationNs('3μs')).toBe(3e3);
    expect(parseDurationNs('.5s')).toBe(5e8);
  });
  it('refuses a number without unit or an unknown unit', () => {
    expect(parseDurationNs('120')).toBeUndefined();
    expect(parseDurationNs('10sec')).toBeUndefined();
    expect(parseDurationNs('')).toBeUndefined();
    expect(parseDurationNs('-')).toBeUndefined();
  });
  it('prints as Go does', () => {
    expect(formatGoDuration(60e9)).toBe('1m0s');
    expect(formatGoDuration(3723.5e9)).toBe('1h2m3.5s');
    expect(formatGoDuration(500e6)).toBe('500ms');
    expect(formatGoDuration(1500)).toBe('1.5µs');
    expect(formatGoDuration(0)).toBe('0s');
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
