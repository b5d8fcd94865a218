import { describe, expect, it } from 'vitest';
import {
  ExecNetHost,
  FakeNetHost,
  cleanupAll,
  defaultOverlayConfig,
  inNetns,
  netnsExecPrefix,
  removeNetwork,
  validateOverlayConfig,
} from '../../../src/overlay-net/index.js';
import { bridgeName, vxlanName } from '../../../src/overlay-net/names.js';

describe('cleanupAll', () => {
  it('removes only devices and tables named under the prefix', async () => {
    const links = [
      'lo',
      'eth0',
      'tswb0123abcd',
      'tswx0123abcd',
      'tswv89abcdef',
      'tswextra',
      'tsw2b0123abcd',
    ];
    const tables = [
      { family: 'ip', name: 'tsw-net-0123abcd' },
      { family: 'ip', name: 'tsw-ingress' },
      { family: 'inet', name: 'firewalld' },
      { family: 'ip', name: 'tsw2-ingress' },
    ];
    const host = new FakeNetHost().respond((c) => {
      if (c.cmd === 'ip' && c.args.join(' ') === '-j link show') {
        return { stdout: JSON.stringify(links.map((ifname) => ({ ifname }))) };
      }
      if (c.cmd === 'nft' && c.args.join(' ') === '-j list tables') {
        return {
          stdout: JSON.stringify({
            nftables: [{ metainfo: {} }, ...tables.map((table) => ({ table }))],
          }),
        };
      }
      return undefined;
    });
    const report = await cleanupAll(host, 'tsw');
    expect(report).toEqual({
      devices: ['tswb0123abcd', 'tswx0123abcd', 'tswv89abcdef'],
      tables: ['tsw-net-0123abcd', 'tsw-ingress'],
      dnsServers: 0,
    });
    expect(host.commandLines().filter((l) => !l.includes('-j'))).toEqual([
      'ip link del tswb0123abcd',
      'ip link del tswx0123abcd',
      'ip link del tswv89abcdef',
      'nft delete table ip tsw-net-0123abcd',
      'nft delete table ip tsw-ingress',
    ]);
  });

  it('removes a network by id alone, tolerating parts already gone', async () => {
    const br = bridgeName('tsw', 'n1');
    const host = new FakeNetHost().respond((c) => {
      if (c.args.join(' ') === `-j link show dev ${br}`) return { stdout: '[]' };
      if (c.args.join(' ') === `-j link show master ${br}`) {
        return {
          stdout: JSON.stringify([{ ifname: vxlanName('tsw', 'n1') }, { ifname: 'tswv00000001' }]),
        };
      }
      if (c.args[0] === '-j' && c.args[1] === 'link') return { code: 1, stderr: 'does not exist' };
      return undefined;
    });
    await removeNetwork(host, 'tsw', 'n1');
    const changes = host.commandLines().filter((l) => !l.includes('-j'));
    expect(changes.slice(0, 2)).toEqual(['ip link del tswv00000001', `ip link del ${br}`]);
    expect(host.calls.at(-1)?.input).toMatch(/^add table ip tsw-net-[0-9a-f]{8}\ndelete table/);
  });
});

describe('namespaces and config', () => {
  it('enters a namespace by name, path or pid', () => {
    expect(netnsExecPrefix({ name: 'n1' })).toEqual(['ip', 'netns', 'exec', 'n1']);
    expect(netnsExecPrefix({ pid: 42 })).toEqual(['nsenter', '--net=/proc/42/ns/net', '--']);
    const fake = new FakeNetHost();
    void inNetns(fake, { path: '/run/netns/x' }).run('ip', ['link']);
    expect(fake.commandLines()).toEqual(['nsenter --net=/run/netns/x -- ip link']);
    expect(new ExecNetHost()).toBeInstanceOf(ExecNetHost);
  });

  it('validates the config, naming the bad field', () => {
    expect(validateOverlayConfig(defaultOverlayConfig()).vxlanPort).toBe(4789);
    expect(() => validateOverlayConfig({ ...defaultOverlayConfig(), vxlanPort: 0 })).toThrow(
      /vxlanPort/,
    );
    expect(() => validateOverlayConfig({ ...defaultOverlayConfig(), underlayMtu: 600 })).toThrow(
      /underlayMtu/,
    );
    expect(() =>
      validateOverlayConfig({
        ...defaultOverlayConfig(),
        dnsUpstreams: [{ host: '127.0.0.1', port: 99999 }],
      }),
    ).toThrow(/dnsUpstreams\[0\]\.port/);
  });
});
