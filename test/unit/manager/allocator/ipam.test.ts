import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressSpace,
  allocateSubnet,
  formatCidr,
  formatIp,
  overlaps,
  parseCidr,
  parseIp,
  type Cidr,
} from '../../../../src/manager/allocator/index.js';

const cidr = (s: string): Cidr => {
  const p = parseCidr(s);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};

describe('ipam', () => {
  it('parses and prints addresses and subnets, refusing host bits and bad octets', () => {
    expect(formatIp(parseIp('10.0.1.5')!)).toBe('10.0.1.5');
    expect(parseIp('10.0.1.256')).toBeUndefined();
    expect(parseIp('10.0.01.1')).toBeUndefined();
    expect(formatCidr(cidr('192.168.4.0/22'))).toBe('192.168.4.0/22');
    expect(parseCidr('10.0.1.5/24')).toEqual({
      ok: false,
      error: 'invalid subnet 10.0.1.5/24: it should be 10.0.1.0/24',
    });
    expect(parseCidr('10.0.1.0/33').ok).toBe(false);
  });

  it('walks the pool lowest first and skips subnets already taken', () => {
    const pool = [cidr('10.0.0.0/8')];
    expect(formatCidr(allocateSubnet(pool, 24, [])!)).toBe('10.0.0.0/24');
    expect(formatCidr(allocateSubnet(pool, 24, [cidr('10.0.0.0/24')])!)).toBe('10.0.1.0/24');
    expect(formatCidr(allocateSubnet(pool, 24, [cidr('10.0.0.0/16')])!)).toBe('10.1.0.0/24');
    expect(allocateSubnet([cidr('10.0.0.0/24')], 24, [cidr('10.0.0.128/25')])).toBeUndefined();
  });

  it('never hands out a subnet that overlaps one taken (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 16, max: 28 })), {
          maxLength: 20,
        }),
        fc.integer({ min: 20, max: 28 }),
        (raw, size) => {
          const taken = raw.map(([b, p]) => {
            const base = 10 * 2 ** 24 + b * 2 ** 16;
            return { base: base - (base % 2 ** (32 - p)), prefix: p };
          });
          const got = allocateSubnet([cidr('10.0.0.0/8')], size, taken);
          expect(got).toBeDefined();
          for (const t of taken) expect(overlaps(t, got!)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives each host address once, never network, broadcast or reserved ones', () => {
    const space = new AddressSpace(cidr('10.0.9.0/29'), [parseIp('10.0.9.1')!]);
    const got: string[] = [];
    for (let ip = space.allocate(); ip !== undefined; ip = space.allocate()) got.push(formatIp(ip));
    expect(got).toEqual(['10.0.9.2', '10.0.9.3', '10.0.9.4', '10.0.9.5', '10.0.9.6']);
    space.release(parseIp('10.0.9.4')!);
    expect(formatIp(space.allocate()!)).toBe('10.0.9.4');
    expect(space.reserve(parseIp('10.0.10.1')!)).toBe(false);
  });
});
