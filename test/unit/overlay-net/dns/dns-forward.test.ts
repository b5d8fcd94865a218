import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DnsServer,
  Rcode,
  RecordType,
  decodeMessage,
  encodeMessage,
} from '../../../../src/overlay-net/index.js';

// A fake upstream on loopback that answers every A query with an address naming its transport.
let udp: dgram.Socket;
let tcp: net.Server;
let port = 0;

function answerFor(query: Buffer, addr: string): Buffer {
  const q = decodeMessage(query);
  const name = q.questions[0]?.name ?? '';
  return encodeMessage({
    ...q,
    flags: { ...q.flags, qr: true, ra: true },
    answers: [{ name, type: RecordType.A, class: 1, ttl: 30, data: addr }],
  });
}

beforeAll(async () => {
  tcp = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      const reply = answerFor(d.subarray(2), '192.0.2.2');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length);
      s.end(Buffer.concat([len, reply]));
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  port = (tcp.address() as net.AddressInfo).port;
  udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => udp.send(answerFor(m, '192.0.2.1'), r.port, r.address));
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
});

afterAll(async () => {
  udp.close();
  await new Promise((resolve) => tcp.close(resolve));
});

function query(name: string): Buffer {
  return encodeMessage({
    id: 4242,
    flags: { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
    questions: [{ name, type: RecordType.A, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

describe('DnsServer forwarding', () => {
  it('forwards UDP queries over UDP and TCP queries over TCP, skipping a dead upstream', async () => {
    // A bound but silent socket: the first upstream times out, the second answers.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const s = new DnsServer({
      prefix: 'unitfwd',
      upstreams: [
        { host: '127.0.0.1', port: silent.address().port },
        { host: '127.0.0.1', port },
      ],
      upstreamTimeoutMs: 200,
    });
    try {
      s.setTable({ networks: [], clients: [{ addr: '10.0.0.2', networks: [] }] });
      const viaUdp = decodeMessage(
        (await s.answer(query('example.org'), '10.0.0.2', 512)) as Buffer,
      );
      expect(viaUdp.id).toBe(4242);
      expect(viaUdp.answers.map((a) => a.data)).toEqual(['192.0.2.1']);
      const viaTcp = decodeMessage(
        (await s.answer(query('example.org'), '10.0.0.2', 0xffff)) as Buffer,
      );
      expect(viaTcp.answers.map((a) => a.data)).toEqual(['192.0.2.2']);
    } finally {
      silent.close();
      await s.close();
    }
  });

  it('answers SERVFAIL when no upstream answers in time', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const s = new DnsServer({
      prefix: 'unitfwd',
      upstreams: [{ host: '127.0.0.1', port: silent.address().port }],
      upstreamTimeoutMs: 100,
    });
    try {
      s.setTable({ networks: [], clients: [{ addr: '10.0.0.2', networks: [] }] });
      const r = decodeMessage((await s.answer(query('example.org'), '10.0.0.2', 512)) as Buffer);
      expect(r.flags.rcode).toBe(Rcode.ServFail);
    } finally {
      silent.close();
      await s.close();
    }
  });
});
