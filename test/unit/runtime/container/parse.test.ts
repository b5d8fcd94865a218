import { describe, expect, it } from 'vitest';
import {
  mergeEnv,
  parseBind,
  parseCpus,
  parseEnv,
  parseEnvFile,
  parseMemory,
  parseSignal,
  parseTmpfs,
  validateName,
} from '../../../../src/runtime/container/parse.js';

describe('docker-style flag parsing', () => {
  it('memory sizes', () => {
    expect(parseMemory('512m')).toBe(512 * 1024 ** 2);
    expect(parseMemory('1g')).toBe(1024 ** 3);
    expect(parseMemory('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseMemory(8 * 1024 ** 2)).toBe(8 * 1024 ** 2);
    expect(() => parseMemory('12parsecs')).toThrow(/invalid value "12parsecs" for --memory/);
    expect(() => parseMemory('1k')).toThrow(/minimum memory limit is 6m/);
  });

  it('cpus become nano CPUs', () => {
    expect(parseCpus('0.5')).toBe(500_000_000);
    expect(parseCpus(2)).toBe(2e9);
    expect(() => parseCpus('lots')).toThrow(/--cpus/);
    expect(() => parseCpus('0')).toThrow(/greater than 0/);
  });

  it('env: K=V kept, bare K taken from the caller, files skip comments', () => {
    expect(parseEnv(['A=1', 'B', 'C'], { B: 'two' })).toEqual(['A=1', 'B=two']);
    expect(() => parseEnv(['=x'])).toThrow(/invalid environment/);
    expect(parseEnvFile('f', '# c\n\nX=1\r\nY=2\n', {})).toEqual(['X=1', 'Y=2']);
    expect(mergeEnv(['PATH=/bin', 'A=1'], ['A=2'])).toEqual(['PATH=/bin', 'A=2']);
  });

  it('binds and tmpfs', () => {
    expect(parseBind('/a:/b:ro')).toEqual({
      source: '/a',
      destination: '/b',
      readOnly: true,
      volume: false,
    });
    expect(parseBind('/a:/b')).toEqual({
      source: '/a',
      destination: '/b',
      readOnly: false,
      volume: false,
    });
    expect(parseBind('data:/b:ro')).toEqual({
      source: 'data',
      destination: '/b',
      readOnly: true,
      volume: true,
    });
    expect(() => parseBind('a b:/b')).toThrow(/invalid characters for a local volume name/);
    expect(() => parseBind('x:/b')).toThrow(/volume name is too short/);
    expect(() => parseBind('/a:/b:rx')).toThrow(/mode must be ro or rw/);
    expect(() => parseBind('/a')).toThrow(/SRC:DST/);
    expect(parseTmpfs('/run:size=64m')).toEqual({ destination: '/run', options: 'size=64m' });
    expect(() => parseTmpfs('run')).toThrow(/--tmpfs/);
  });

  it('signals and names', () => {
    expect(parseSignal('-s', 'term')).toBe('SIGTERM');
    expect(parseSignal('-s', 'SIGUSR1')).toBe('SIGUSR1');
    expect(parseSignal('-s', '9')).toBe('SIGKILL');
    expect(() => parseSignal('-s', 'NOPE')).toThrow(/invalid signal "NOPE" for -s/);
    expect(validateName('/web_1')).toBe('web_1');
    expect(() => validateName('bad name')).toThrow(/invalid container name/);
  });
});

describe('mergeHealthcheck (a container check over its image check, as dockerd merges)', () => {
  it('inherits the test and each unset field from the image; NONE disables', async () => {
    const { mergeHealthcheck } = await import('../../../../src/runtime/index.js');
    const image = { Test: ['CMD', 'check'], Interval: 5e9, Retries: 4 };
    expect(mergeHealthcheck(image, undefined)).toEqual(image);
    expect(mergeHealthcheck(image, { Interval: 1e9 })).toEqual({
      Test: ['CMD', 'check'],
      Interval: 1e9,
      Retries: 4,
    });
    expect(mergeHealthcheck(image, { Test: ['CMD-SHELL', 'x'], Timeout: 2e9 })).toEqual({
      Test: ['CMD-SHELL', 'x'],
      Interval: 5e9,
      Timeout: 2e9,
      Retries: 4,
    });
    expect(mergeHealthcheck(image, { Test: ['NONE'] })).toBeUndefined();
    expect(mergeHealthcheck(undefined, { Interval: 1e9 })).toBeUndefined();
    expect(mergeHealthcheck({ Test: ['NONE'] }, undefined)).toBeUndefined();
  });
});
