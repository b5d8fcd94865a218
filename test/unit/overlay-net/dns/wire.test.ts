import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DnsMessage } from '../../../../src/overlay-net/index.js';
import {
  DnsFormatError,
  RecordType,
  addressFromReverseName,
  decodeMessage,
  encodeMessage,
  reverseName,
} from '../../../../src/overlay-net/index.js';

const flags = { qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: true, rcode: 0 };

function msg(partial: Partial<DnsMessage>): DnsMessage {
  return { id: 7, flags, questions: [], answers: [], authorities: [], additionals: [], ...partial };
}

describe('DNS wire format', () => {
  it('round-trips A, AAAA, PTR and raw records with compressed names', () => {
    const m = msg({
      questions: [{ name: 'web.example', type: RecordType.A, class: 1 }],
      answers: [
        { name: 'web.example', type: RecordType.A, class: 1, ttl: 600, data: '10.0.0.2' },
        { name: 'web.example', type: RecordType.AAAA, class: 1, ttl: 0, data: 'fd00::1:2' },
        {
          name: '2.0.0.10.in-addr.arpa',
          type: RecordType.PTR,
          class: 1,
          ttl: 0,
          data: 'web.example',
        },
      ],
      additionals: [
        { name: '', type: RecordType.OPT, class: 1232, ttl: 0, data: new Uint8Array([1, 2]) },
      ],
    });
    const wire = encodeMessage(m);
    expect(decodeMessage(wire)).toEqual(m);
    // "web.example" is written once; later uses are 2-octet pointers.
    expect(wire.toString('latin1').split('example').length - 1).toBe(1);
  });

  it('encodes a known query byte for byte', () => {
    const q = encodeMessage({
      ...msg({ questions: [{ name: 'a.b', type: RecordType.A, class: 1 }] }),
      id: 0x1234,
      flags: { ...flags, qr: false, aa: false, ra: false },
    });
    expect(q.toString('hex')).toBe('123401000001000000000000' + '0161016200' + '00010001');
  });

  it('decodes flags and rcode', () => {
    const m = decodeMessage(
      encodeMessage(msg({ flags: { ...flags, tc: true, rcode: 3, opcode: 2 } })),
    );
    expect(m.flags).toEqual({ ...flags, tc: true, rcode: 3, opcode: 2 });
  });

  it('rejects truncated packets and pointer loops', () => {
    expect(() => decodeMessage(Buffer.from([0, 1, 0]))).toThrow(DnsFormatError);
    const loop = Buffer.from('000101000001000000000000c00c00010001', 'hex');
    expect(() => decodeMessage(loop)).toThrow(/pointer/);
    const long = Buffer.concat([
      Buffer.from('000101000001000000000000', 'hex'),
      Buffer.from([5, 97]),
      Buffer.from([0]),
    ]);
    expect(() => decodeMessage(long)).toThrow(DnsFormatError);
  });

  it('refuses to write an empty or oversized label', () => {
    expect(() => encodeMessage(msg({ questions: [{ name: 'a..b', type: 1, class: 1 }] }))).toThrow(
      DnsFormatError,
    );
    expect(() =>
      encodeMessage(msg({ questions: [{ name: 'x'.repeat(64), type: 1, class: 1 }] })),
    ).toThrow(DnsFormatError);
  });

  it('maps addresses to reverse names and back', () => {
    expect(reverseName('10.0.0.2')).toBe('2.0.0.10.in-addr.arpa');
    expect(addressFromReverseName('2.0.0.10.IN-ADDR.ARPA.')).toBe('10.0.0.2');
    expect(addressFromReverseName('example.com')).toBeUndefined();
  });

  it('round-trips any A answer set (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.'));
    fc.assert(
      fc.property(fc.nat(0xffff), name, fc.array(ip, { maxLength: 20 }), (id, n, ips) => {
        const m = msg({
          id,
          questions: [{ name: n, type: 1, class: 1 }],
          answers: ips.map((data) => ({ name: n, type: 1, class: 1, ttl: 5, data })),
        });
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
      { numRuns: 200 },
    );
  });
});
