import { describe, expect, it } from 'vitest';
import type { RecordedCall } from '../../../src/overlay-net/index.js';
import {
  FakeNetHost,
  NetworkSandbox,
  defaultOverlayConfig,
  normalizePeers,
  planPeers,
} from '../../../src/overlay-net/index.js';
import { TsswarmError } from '../../../src/api/errors.js';

/** A fake kernel that keeps the VXLAN device's fdb and neighbour tables from the commands run. */
function fakeKernel(): { host: FakeNetHost; fdb: Map<string, string>; neigh: Map<string, string> } {
  const fdb = new Map<string, string>(); // "mac|dst" -> mac
  const neigh = new Map<string, string>(); // ip -> mac
  const host = new FakeNetHost().respond((c: RecordedCall) => {
    const a = c.args;
    if (c.cmd === 'bridge' && a[0] === '-j') {
      const rows = [...fdb.keys()].map((k) => {
        const [mac, dst] = k.split('|');
        return { mac, dst, state: 'permanent' };
      });
      // The device's own entry has no dst and must be left alone.
      rows.push({
        mac: '46:aa:bb:cc:dd:ee',
        dst: undefined as unknown as string,
        state: 'permanent',
      });
      return { stdout: JSON.stringify(rows) };
    }
    if (c.cmd === 'ip' && a[1] === '-j' && a[2] === 'neigh') {
      return {
        stdout: JSON.stringify(
          [...neigh].map(([dst, lladdr]) => ({ dst, lladdr, state: ['PERMANENT'] })),
        ),
      };
    }
    const lines = a[0] === '-batch' ? (c.input ?? '').trim().split('\n') : [];
    for (const line of lines.map((l) => l.split(' '))) {
      const [, verb, key, , val, , dst] = line;
      if (c.cmd === 'bridge' && verb === 'append') fdb.set(`${key}|${dst}`, key as string);
      if (c.cmd === 'bridge' && verb === 'del') fdb.delete(`${key}|${dst}`);
      if (c.cmd === 'ip' && verb === 'replace') neigh.set(key as string, val as string);
      if (c.cmd === 'ip' && verb === 'del') neigh.delete(key as string);
    }
    return undefined;
  });
  return { host, fdb, neigh };
}

const spec = {
  id: 'net1',
  vni: 4096,
  subnet: '10.0.1.0/24',
  gateway: '10.0.1.1',
  localAddr: '192.168.50.1',
};
const p = (n: number, node: number): { ip: string; mac: string; nodeAddr: string } => ({
  ip: `10.0.1.${n}`,
  mac: `02:42:0a:00:01:${n.toString(16).padStart(2, '0')}`,
  nodeAddr: `192.168.50.${node}`,
});

describe('setPeers', () => {
  it('adds what is missing, removes what is gone, and then does nothing', async () => {
    const k = fakeKernel();
    const s = new NetworkSandbox(k.host, spec, defaultOverlayConfig());
    const first = await s.setPeers([p(2, 2), p(3, 3), p(4, 1)]);
    expect(first.fdbAdd).toHaveLength(2); // 10.0.1.4 is on this node: the bridge has it
    expect([...k.neigh.keys()].sort()).toEqual(['10.0.1.2', '10.0.1.3']);

    k.host.clear();
    const again = await s.setPeers([p(3, 3), p(2, 2)]);
    expect(again).toEqual({ fdbAdd: [], fdbDel: [], neighSet: [], neighDel: [] });
    expect(k.host.calls.filter((c) => !c.args.includes('-j'))).toEqual([]);
    await s.setPeers([p(2, 2), p(3, 3), p(6, 2), p(7, 3)]);
    expect(k.host.calls.filter((c) => c.args[0] === '-batch')).toHaveLength(2);
    await s.setPeers([p(2, 2), p(3, 3)]);

    const moved = await s.setPeers([p(3, 2), p(5, 3)]);
    expect(moved.fdbDel.map((e) => e.mac).sort()).toEqual([p(2, 2).mac, p(3, 3).mac].sort());
    expect(moved.neighDel).toEqual(['10.0.1.2']);
    expect([...k.fdb.keys()].sort()).toEqual([
      `${p(3, 2).mac}|192.168.50.2`,
      `${p(5, 3).mac}|192.168.50.3`,
    ]);
    expect(await s.setPeers([p(3, 2), p(5, 3)])).toEqual({
      fdbAdd: [],
      fdbDel: [],
      neighSet: [],
      neighDel: [],
    });

    await s.setPeers([]);
    expect(k.fdb.size + k.neigh.size).toBe(0);
  });

  it('corrects a neighbour entry whose MAC changed', () => {
    const plan = planPeers(
      [p(2, 2)],
      [{ mac: p(2, 2).mac, dst: '192.168.50.2' }],
      [{ dst: '10.0.1.2', lladdr: '02:00:00:00:00:99' }],
    );
    expect(plan).toEqual({
      fdbAdd: [],
      fdbDel: [],
      neighSet: [{ ip: '10.0.1.2', mac: p(2, 2).mac }],
      neighDel: [],
    });
  });

  it('refuses bad peers before touching anything, naming the field', async () => {
    const k = fakeKernel();
    const s = new NetworkSandbox(k.host, spec, defaultOverlayConfig());
    await expect(s.setPeers([{ ...p(2, 2), mac: 'zz' }])).rejects.toThrow(/peers\[0\]\.mac/);
    expect(k.host.calls).toEqual([]);
    expect(() => normalizePeers([p(2, 2), { ...p(2, 3) }], '192.168.50.1')).toThrow(TsswarmError);
    expect(() => normalizePeers([{ ...p(2, 2), mac: '01:00:5e:00:00:01' }], 'x')).toThrow(
      /multicast/,
    );
  });
});

describe('NetworkSandbox', () => {
  it('checks its spec', () => {
    const host = new FakeNetHost();
    const c = defaultOverlayConfig();
    expect(() => new NetworkSandbox(host, { ...spec, vni: 0 }, c)).toThrow(/vni 0/);
    expect(() => new NetworkSandbox(host, { ...spec, subnet: '10.0.1.5/24' }, c)).toThrow(
      /host bits/,
    );
    expect(() => new NetworkSandbox(host, { ...spec, gateway: '10.0.2.1' }, c)).toThrow(/outside/);
    const outside = { ...spec, nodeEndpoint: { ip: '10.0.9.2', mac: '02:42:0a:00:09:02' } };
    expect(() => new NetworkSandbox(host, outside, c)).toThrow(
      /nodeEndpoint\.ip 10\.0\.9\.2 is outside/,
    );
    expect(() => new NetworkSandbox(host, spec, { ...c, prefix: 'TOOLONGPREFIX' })).toThrow(
      /prefix/,
    );
  });

  it('creates a bridge and a nolearning VXLAN with MTU 50 below the underlay', async () => {
    const host = new FakeNetHost().respond((c) =>
      c.args[1] === 'link' && c.args[2] === 'show' ? { code: 1 } : undefined,
    );
    const s = new NetworkSandbox(host, spec, {
      ...defaultOverlayConfig(),
      prefix: 'n1',
      underlayMtu: 9000,
    });
    await s.create();
    const lines = host.commandLines();
    expect(lines).toContain(`ip link add ${s.bridge} mtu 8950 type bridge`);
    expect(lines).toContain(
      `ip link add ${s.vxlan} mtu 8950 type vxlan id 4096 dstport 4789 local 192.168.50.1 nolearning proxy`,
    );
    expect(s.bridge).toMatch(/^n1b[0-9a-f]{8}$/);
    const nft = host.calls.find((c) => c.cmd === 'nft');
    expect(nft?.input).toContain(`ip saddr 10.0.1.0/24 oifname != "${s.bridge}" masquerade`);
  });

  it('gives an internal network no way out', async () => {
    const host = new FakeNetHost();
    const s = new NetworkSandbox(host, { ...spec, internal: true }, defaultOverlayConfig());
    await s.create();
    const script = host.calls.find((c) => c.cmd === 'nft')?.input ?? '';
    expect(script).toContain(`iifname "${s.bridge}" oifname != "${s.bridge}" drop`);
    expect(script).not.toContain('masquerade');
  });
});
