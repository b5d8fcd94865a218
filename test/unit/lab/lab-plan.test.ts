// The lab's pure pieces, no root needed: names, subnets, config checks, mountinfo, table.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultLabConfig,
  defaultLabSubnet,
  formatLabList,
  labObjectPattern,
  nodeAddresses,
  parseLabSubnet,
  validateLabConfig,
  validateLabName,
} from '../../../src/lab/index.js';
import { mountsUnder } from '../../../src/lab/mounts.js';
import { claimLabName, readClaim, releaseClaim } from '../../../src/lab/claim.js';
import { nodeNames } from '../../../src/lab/names.js';

describe('lab names', () => {
  it('accepts short lower-case names and refuses the rest by name', () => {
    for (const ok of ['a', 'lab-1', 'x'.repeat(24)])
      expect(() => validateLabName(ok)).not.toThrow();
    for (const bad of ['', 'A', '-a', 'a_b', 'a.b', 'x'.repeat(25), '../etc']) {
      expect(() => validateLabName(bad)).toThrow(/lab name/);
    }
  });

  it("matches exactly one lab's objects, even when one lab name extends another", () => {
    const a = labObjectPattern('a');
    expect(a.test('tsswarm-lab-a-hub')).toBe(true);
    expect(a.test('tsswarm-lab-a-worker12')).toBe(true);
    expect(a.test('tsswarm-lab-a-hub-hub')).toBe(false);
    expect(a.test('tsswarm-lab-a-hub-manager1')).toBe(false);
    expect(a.test('tsswarm-lab-a-b-manager1')).toBe(false);
    expect(labObjectPattern('a-hub').test('tsswarm-lab-a-hub')).toBe(false);
  });

  it('names managers first, so manager1 is the one that inits', () => {
    expect(nodeNames(2, 1)).toEqual([
      { name: 'manager1', role: 'manager' },
      { name: 'manager2', role: 'manager' },
      { name: 'worker1', role: 'worker' },
    ]);
  });
});

describe('lab subnets', () => {
  it('takes aligned private CIDRs and gives nodes addresses from .2', () => {
    expect(nodeAddresses(parseLabSubnet('192.168.5.0/24'), 3)).toEqual([
      '192.168.5.2',
      '192.168.5.3',
      '192.168.5.4',
    ]);
    expect(nodeAddresses(parseLabSubnet('10.9.0.0/16'), 1)).toEqual(['10.9.0.2']);
  });

  it('refuses what is not an aligned private IPv4 CIDR, saying why', () => {
    expect(() => parseLabSubnet('172.30.0.0')).toThrow(/not an IPv4 CIDR/);
    expect(() => parseLabSubnet('172.30.0.256/24')).toThrow(/not an IPv4 CIDR/);
    expect(() => parseLabSubnet('fd00::/64')).toThrow(/not an IPv4 CIDR/);
    expect(() => parseLabSubnet('172.30.0.1/24')).toThrow(/did you mean 172\.30\.0\.0\/24/);
    expect(() => parseLabSubnet('1.2.3.0/24')).toThrow(/private range/);
    expect(() => parseLabSubnet('172.32.0.0/16')).toThrow(/private range/);
    expect(() => parseLabSubnet('10.0.0.0/7')).toThrow(/between 8 and 28/);
    expect(() => parseLabSubnet('10.0.0.0/30')).toThrow(/between 8 and 28/);
    expect(() => nodeAddresses(parseLabSubnet('10.0.0.0/28'), 14)).toThrow(/holds 13/);
  });

  it('picks the first default subnet no lab uses', () => {
    expect(defaultLabSubnet([])).toBe('172.30.0.0/24');
    expect(defaultLabSubnet(['172.30.0.0/24', '10.1.0.0/24'])).toBe('172.30.1.0/24');
  });
});

describe('lab config', () => {
  const base = () => defaultLabConfig(['node', 'tsswarm']);

  it('defaults to one manager and two workers running the daemon', () => {
    const c = base();
    expect([c.managers, c.workers, c.images, c.cluster]).toEqual([
      1,
      2,
      ['busybox:latest'],
      'full',
    ]);
    expect(c.nodeCommand?.argv).toContain('daemon');
    expect(() => validateLabConfig(c)).not.toThrow();
  });

  it('refuses impossible shapes', () => {
    expect(() => validateLabConfig({ ...base(), managers: 0 })).toThrow(/at least 1 manager/);
    expect(() => validateLabConfig({ ...base(), workers: -1 })).toThrow(/--workers -1/);
    expect(() => validateLabConfig({ ...base(), workers: 40 })).toThrow(/at most 32 nodes/);
    expect(() => validateLabConfig({ ...base(), subnet: '8.8.8.0/24' })).toThrow(/private/);
    expect(() => validateLabConfig({ ...base(), nodeCommand: null })).toThrow(/needs a node/);
  });
});

describe('lab name claims', () => {
  it('gives a name to one lab dir, and takes over a claim whose dir is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-lab-claim-'));
    try {
      const claims = join(dir, 'claims');
      const a = join(dir, 'a');
      await mkdir(a);
      expect(await claimLabName(claims, 'x', a)).toBeUndefined();
      expect(await claimLabName(claims, 'x', join(dir, 'b'))).toBe(a);
      expect(await readClaim(claims, 'x')).toBe(a);
      await rm(a, { recursive: true });
      expect(await claimLabName(claims, 'x', join(dir, 'b'))).toBeUndefined();
      expect(await readClaim(claims, 'x')).toBe(join(dir, 'b'));
      await releaseClaim(claims, 'x');
      expect(await readClaim(claims, 'x')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lab mounts and listing', () => {
  it('finds mount points under a dir, innermost first, with escaped names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsswarm-lab-plan-'));
    try {
      const info = join(dir, 'mountinfo');
      await writeFile(
        info,
        [
          '22 1 0:21 / / rw - ext4 /dev/vda1 rw',
          '40 22 0:40 / /var/lib/l/labs/a rw - tmpfs t rw',
          '41 40 0:41 / /var/lib/l/labs/a/m1/data/my\\040dir rw - overlay o rw',
          '42 22 0:42 / /var/lib/l/labs/ab rw - tmpfs t rw',
        ].join('\n'),
      );
      expect(mountsUnder('/var/lib/l/labs/a', info)).toEqual([
        '/var/lib/l/labs/a/m1/data/my dir',
        '/var/lib/l/labs/a',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints a table with a partitioned node marked', () => {
    const out = formatLabList([
      {
        lab: 'x',
        name: 'manager1',
        role: 'manager',
        address: '172.30.0.2',
        pid: 42,
        socket: '/s',
        state: 'running',
        partitioned: true,
      },
    ]);
    expect(out.split('\n')[0]).toMatch(/^LAB\s+NODE\s+ROLE\s+ADDRESS\s+PID\s+STATE\s+SOCKET$/);
    expect(out).toContain('running, partitioned');
  });
});
