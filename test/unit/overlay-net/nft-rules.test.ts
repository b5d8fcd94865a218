import { describe, expect, it } from 'vitest';
import {
  EndpointRules,
  FakeNetHost,
  IngressRules,
  renderEndpointRules,
  renderIngressRules,
} from '../../../src/overlay-net/index.js';

const web = { name: 'web', vip: '10.0.0.100', backends: ['10.0.0.4', '10.0.0.2', '10.0.0.3'] };

describe('endpoint rules', () => {
  it('spreads a VIP round-robin over its backends in one table transaction', () => {
    const script = renderEndpointRules('t-ep', { services: [web] });
    expect(script.startsWith('add table ip t-ep\ndelete table ip t-ep\ntable ip t-ep {')).toBe(
      true,
    );
    expect(script).toContain(
      'dnat to numgen inc mod 3 map { 0 : 10.0.0.2, 1 : 10.0.0.3, 2 : 10.0.0.4 }',
    );
    expect(script).toMatch(/ip daddr vmap \{ 10\.0\.0\.100 : jump svc-[0-9a-f]{8} \}/);
  });

  it('renders the same set the same way whatever the order', () => {
    const a = renderEndpointRules('t', { services: [web] });
    const b = renderEndpointRules('t', {
      services: [{ ...web, backends: [...web.backends].reverse() }],
    });
    expect(a).toBe(b);
  });

  it('applies a backend change as exactly one nft -f call and an unchanged set as none', async () => {
    const host = new FakeNetHost();
    const rules = new EndpointRules(host, 'tsw');
    expect(await rules.apply({ services: [web] })).toBe(true);
    expect(
      await rules.apply({ services: [{ ...web, backends: [...web.backends].reverse() }] }),
    ).toBe(false);
    expect(await rules.apply({ services: [{ ...web, backends: ['10.0.0.2'] }] })).toBe(true);
    expect(host.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`)).toEqual(['nft -f -', 'nft -f -']);
  });

  it('refuses connections to a service with no running task', () => {
    const script = renderEndpointRules('t', { services: [{ ...web, backends: [] }] });
    expect(script).toContain('ip daddr 10.0.0.100 meta l4proto tcp reject with tcp reset');
    expect(script).not.toContain('numgen');
  });

  it('redirects 127.0.0.11:53 to the node DNS server', () => {
    const script = renderEndpointRules('t', {
      dns: { clientIp: '10.0.0.9', ifname: 'eth0', server: '10.0.0.1', port: 5353 },
      services: [],
    });
    expect(script).toContain('ip daddr 127.0.0.11 udp dport 53 dnat to 10.0.0.1:5353');
    expect(script).toContain('ip saddr 127.0.0.0/8 oifname "eth0" snat to 10.0.0.9');
  });

  it('names the bad field', () => {
    expect(() =>
      renderEndpointRules('t', { services: [{ ...web, backends: ['10.0.0.300'] }] }),
    ).toThrow(/services\[0\]\.backends\[0\]/);
    expect(() => renderEndpointRules('t', { services: [web, { ...web, name: 'api' }] })).toThrow(
      /used twice/,
    );
  });
});

describe('ingress rules', () => {
  const mesh = {
    protocol: 'tcp' as const,
    publishedPort: 8080,
    targetPort: 80,
    mode: 'ingress' as const,
    backends: ['10.255.0.7', '10.255.0.5'],
  };

  it('DNATs a published port to every task and SNATs only mesh traffic', () => {
    const s = renderIngressRules('tsw-ingress', {
      ports: [mesh],
      ingressBridge: 'tswb1',
      snatAddr: '10.255.0.2',
    });
    expect(s).toContain(
      'fib daddr type local tcp dport 8080 meta mark set 0x7357a001 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.5 . 80, 1 : 10.255.0.7 . 80 }',
    );
    expect(s).toContain('meta mark 0x7357a001 oifname "tswb1" snat to 10.255.0.2');
  });

  it('publishes host mode only to local tasks, without SNAT', () => {
    const s = renderIngressRules('t', {
      ports: [{ ...mesh, mode: 'host', backends: ['10.0.0.3'] }],
    });
    expect(s).toContain('tcp dport 8080 dnat ip to numgen inc mod 1 map { 0 : 10.0.0.3 . 80 }');
    expect(s).not.toContain('snat');
  });

  it('refuses incomplete or duplicate input', () => {
    expect(() => renderIngressRules('t', { ports: [mesh] })).toThrow(/snatAddr/);
    expect(() =>
      renderIngressRules('t', {
        ports: [
          { ...mesh, mode: 'host' },
          { ...mesh, mode: 'host' },
        ],
      }),
    ).toThrow(/published twice/);
    expect(() =>
      renderIngressRules('t', { ports: [{ ...mesh, publishedPort: 70000, mode: 'host' }] }),
    ).toThrow(/ports\[0\]\.publishedPort/);
  });

  it('applies once per change', async () => {
    const host = new FakeNetHost();
    const rules = new IngressRules(host, 'tsw');
    const spec = { ports: [mesh], ingressBridge: 'tswb1', snatAddr: '10.255.0.2' };
    await rules.apply(spec);
    await rules.apply(spec);
    expect(host.calls).toHaveLength(1);
  });
});
