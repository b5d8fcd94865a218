import { describe, expect, it } from 'vitest';
import type { DnsTableSpec } from '../../../../src/overlay-net/index.js';
import {
  DnsServer,
  DnsTable,
  Rcode,
  RecordType,
  decodeMessage,
  encodeMessage,
} from '../../../../src/overlay-net/index.js';

const spec: DnsTableSpec = {
  networks: [
    {
      id: 'front',
      services: [
        {
          name: 'web',
          aliases: ['www'],
          endpointMode: 'vip',
          vip: '10.0.0.100',
          tasks: [{ ip: '10.0.0.3', name: 'web.1.x' }, { ip: '10.0.0.2' }],
        },
        {
          name: 'db',
          endpointMode: 'dnsrr',
          tasks: [{ ip: '10.0.0.7' }, { ip: '10.0.0.5' }, { ip: '10.0.0.6' }],
        },
      ],
    },
    { id: 'back', services: [{ name: 'secret', endpointMode: 'vip', vip: '10.1.0.9', tasks: [] }] },
  ],
  clients: [
    { addr: '10.0.0.20', networks: ['front'] },
    { addr: '10.1.0.20', networks: ['back', 'front'] },
  ],
};

const addrs = (r: ReturnType<DnsTable['resolve']>): unknown =>
  r.kind === 'answer' ? r.records.map((x) => x.data) : r.kind;

describe('DnsTable', () => {
  const t = new DnsTable(spec);

  it('answers a service and its aliases with the VIP, tasks.<service> with task addresses', () => {
    expect(addrs(t.resolve('10.0.0.20', 'web', RecordType.A))).toEqual(['10.0.0.100']);
    expect(addrs(t.resolve('10.0.0.20', 'WWW.', RecordType.A))).toEqual(['10.0.0.100']);
    expect(addrs(t.resolve('10.0.0.20', 'tasks.web', RecordType.A))).toEqual([
      '10.0.0.2',
      '10.0.0.3',
    ]);
    expect(addrs(t.resolve('10.0.0.20', 'web.1.x', RecordType.A))).toEqual(['10.0.0.3']);
  });

  it('rotates dnsrr answers on each query', () => {
    const table = new DnsTable(spec);
    const seen = [1, 2, 3, 4].map(() => addrs(table.resolve('10.0.0.20', 'db', RecordType.A)));
    expect(seen).toEqual([
      ['10.0.0.5', '10.0.0.6', '10.0.0.7'],
      ['10.0.0.6', '10.0.0.7', '10.0.0.5'],
      ['10.0.0.7', '10.0.0.5', '10.0.0.6'],
      ['10.0.0.5', '10.0.0.6', '10.0.0.7'],
    ]);
  });

  it('shows a client only its own networks', () => {
    expect(t.resolve('10.0.0.20', 'secret', RecordType.A).kind).toBe('forward');
    expect(addrs(t.resolve('10.1.0.20', 'secret', RecordType.A))).toEqual(['10.1.0.9']);
    expect(addrs(t.resolve('10.1.0.20', 'web', RecordType.A))).toEqual(['10.0.0.100']);
    expect(t.resolve('10.9.9.9', 'web', RecordType.A).kind).toBe('refused');
  });

  it('answers PTR for VIPs and tasks, nodata for AAAA of its names, forwards the rest', () => {
    expect(addrs(t.resolve('10.0.0.20', '100.0.0.10.in-addr.arpa', RecordType.PTR))).toEqual([
      'web',
    ]);
    expect(addrs(t.resolve('10.0.0.20', '3.0.0.10.in-addr.arpa', RecordType.PTR))).toEqual([
      'web.1.x',
    ]);
    expect(t.resolve('10.0.0.20', '9.0.1.10.in-addr.arpa', RecordType.PTR).kind).toBe('forward');
    expect(t.resolve('10.0.0.20', 'web', RecordType.AAAA).kind).toBe('nodata');
    expect(t.resolve('10.0.0.20', 'example.org', RecordType.A).kind).toBe('forward');
  });

  it('answers NXDOMAIN instead of forwarding for a client kept inside', () => {
    const inside = new DnsTable({
      ...spec,
      clients: [{ addr: '10.1.0.30', networks: ['back'], external: false }],
    });
    expect(inside.resolve('10.1.0.30', 'example.org', RecordType.A).kind).toBe('nxdomain');
    expect(addrs(inside.resolve('10.1.0.30', 'secret', RecordType.A))).toEqual(['10.1.0.9']);
  });

  it('refuses a table with a name used twice or a VIP service without a VIP', () => {
    const dup = {
      ...spec,
      networks: [
        {
          id: 'n',
          services: [{ name: 'a', endpointMode: 'dnsrr' as const, tasks: [], aliases: ['A'] }],
        },
      ],
    };
    expect(() => new DnsTable(dup)).toThrow(/already used/);
    const noVip = {
      ...spec,
      networks: [{ id: 'n', services: [{ name: 'a', endpointMode: 'vip' as const, tasks: [] }] }],
    };
    expect(() => new DnsTable(noVip)).toThrow(/needs a vip/);
    const bad = {
      ...spec,
      networks: [
        { id: 'n', services: [{ name: 'a b', endpointMode: 'dnsrr' as const, tasks: [] }] },
      ],
    };
    expect(() => new DnsTable(bad)).toThrow(
      /networks\[0\]\.services\[0\]: name "a b" is not a DNS name/,
    );
  });
});

function query(name: string, type: number = RecordType.A): Buffer {
  return encodeMessage({
    id: 99,
    flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

describe('DnsServer.answer', () => {
  const big: DnsTableSpec = {
    networks: [
      {
        id: 'front',
        services: [
          {
            name: 'many',
            endpointMode: 'dnsrr',
            tasks: Array.from({ length: 60 }, (_, i) => ({ ip: `10.0.1.${i + 1}` })),
          },
        ],
      },
    ],
    clients: spec.clients,
  };

  it('answers authoritatively, refuses strangers, FORMERRs garbage, SERVFAILs without upstream', async () => {
    const s = new DnsServer({ prefix: 'unit', upstreams: [], upstreamTimeoutMs: 100 });
    try {
      s.setTable(spec);
      const ok = decodeMessage((await s.answer(query('web'), '10.0.0.20', 512)) as Buffer);
      expect(ok.id).toBe(99);
      expect(ok.flags).toMatchObject({ qr: true, aa: true, rd: true, rcode: Rcode.NoError });
      expect(ok.answers.map((a) => a.data)).toEqual(['10.0.0.100']);
      const refused = decodeMessage((await s.answer(query('web'), '192.0.2.1', 512)) as Buffer);
      expect(refused.flags.rcode).toBe(Rcode.Refused);
      const garbage = decodeMessage(
        (await s.answer(Buffer.from([0, 5, 1]), '10.0.0.20', 512)) as Buffer,
      );
      expect(garbage).toMatchObject({ id: 5, flags: { rcode: Rcode.FormErr } });
      expect(await s.answer(Buffer.from([1]), '10.0.0.20', 512)).toBeUndefined();
      const fwd = decodeMessage((await s.answer(query('example.org'), '10.0.0.20', 512)) as Buffer);
      expect(fwd.flags.rcode).toBe(Rcode.ServFail);
    } finally {
      await s.close();
    }
  });

  it('sets TC when the answer does not fit in 512 octets, and answers in full over TCP', async () => {
    const s = new DnsServer({ prefix: 'unit', upstreams: [], upstreamTimeoutMs: 100 });
    try {
      s.setTable(big);
      const udp = decodeMessage((await s.answer(query('many'), '10.0.0.20', 512)) as Buffer);
      expect(udp.flags.tc).toBe(true);
      expect(udp.answers).toEqual([]);
      const tcp = decodeMessage((await s.answer(query('many'), '10.0.0.20', 0xffff)) as Buffer);
      expect(tcp.answers).toHaveLength(60);
    } finally {
      await s.close();
    }
  });
});
