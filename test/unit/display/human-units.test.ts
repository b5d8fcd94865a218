import { describe, expect, it } from 'vitest';
import {
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
} from '../../../src/display/human-units.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

describe('humanDuration (go-units HumanDuration)', () => {
  it.each([
    [450, 'Less than a second'],
    [-5 * SECOND, 'Less than a second'],
    [SECOND, '1 second'],
    [1999, '1 second'],
    [45 * SECOND, '45 seconds'],
    [59 * SECOND, '59 seconds'],
    [60 * SECOND, 'About a minute'],
    [3 * MINUTE, '3 minutes'],
    [35 * MINUTE + 40 * SECOND, '35 minutes'],
    [59 * MINUTE, '59 minutes'],
    [HOUR, 'About an hour'],
    [HOUR + 29 * MINUTE, 'About an hour'],
    [HOUR + 31 * MINUTE, '2 hours'],
    [3 * HOUR + 29 * MINUTE, '3 hours'],
    [3 * HOUR + 31 * MINUTE, '4 hours'],
    [DAY, '24 hours'],
    [DAY + 12 * HOUR, '36 hours'],
    [2 * DAY, '2 days'],
    [13 * DAY + 5 * HOUR, '13 days'],
    [2 * WEEK, '2 weeks'],
    [2 * WEEK + 4 * DAY, '2 weeks'],
    [4 * WEEK + 3 * DAY, '4 weeks'],
    [MONTH, '4 weeks'],
    [MONTH + 2 * WEEK, '6 weeks'],
    [2 * MONTH, '2 months'],
    [5 * MONTH + 2 * WEEK, '5 months'],
    [24 * MONTH, '24 months'],
    [24 * MONTH + 2 * WEEK, '2 years'],
    [3 * YEAR + 2 * MONTH, '3 years'],
  ])('%d ms reads "%s"', (ms, words) => {
    expect(humanDuration(ms)).toBe(words);
  });
});

describe('humanSize (go-units HumanSize)', () => {
  it('uses decimal units with four significant digits and no trailing zeros', () => {
    expect(humanSize(0)).toBe('0B');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(1000)).toBe('1kB');
    expect(humanSize(2_746_000)).toBe('2.746MB');
    expect(humanSize(796_000)).toBe('796kB');
    expect(humanSize(1_000_000_000)).toBe('1GB');
    expect(humanSize(3.5e15)).toBe('3.5PB');
  });

  it('rounds to the precision asked for', () => {
    expect(humanSizeWithPrecision(2_140_160, 3)).toBe('2.14MB');
    expect(humanSizeWithPrecision(2_146_000, 3)).toBe('2.15MB');
    expect(humanSizeWithPrecision(2_146_000, 4)).toBe('2.146MB');
  });
});
