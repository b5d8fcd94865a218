import tls from 'node:tls';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createRootCa, issueCertificate } from '../../../../src/ca/index.js';
import {
  TcpTransport,
  decodeMessage,
  encodeMessage,
  type RaftMessage,
} from '../../../../src/manager/raft/index.js';
import { testPki } from '../../../helpers/certs.js';
import { until } from '../../../helpers/until.js';

const open: TcpTransport[] = [];
const sockets: tls.TLSSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function pair(): Promise<{ a: TcpTransport; b: TcpTransport; caPem: string }> {
  const pki = await testPki(['a', 'b']);
  const make = async (id: string) => {
    const t = await TcpTransport.listen({
      listen: '127.0.0.1:0',
      caPem: pki.ca.certPem,
      certPem: pki.node(id).certPem,
      keyPem: pki.node(id).keyPem,
    });
    open.push(t);
    return t;
  };
  return { a: await make('a'), b: await make('b'), caPem: pki.ca.certPem };
}

const soon = (cond: () => boolean, what: string, timeoutMs = 5000) =>
  until(cond, { what, timeoutMs, intervalMs: 5 });

const heartbeat = (from: string, seq: number): RaftMessage => ({
  type: 'append',
  term: 1,
  from,
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: [{ index: 1, term: 1, type: 'command', data: new Uint8Array([1, 2, 3]) }],
  leaderCommit: 0,
  seq,
});

function rawConnect(port: number, opts: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ...opts,
      checkServerIdentity: () => undefined,
    });
    sockets.push(s);
    // The receiver acks frames with a byte: read them, or 'close' would wait for a reader.
    s.resume();
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

describe('codec', () => {
  it('round-trips every message shape', () => {
    const entry = fc.record({
      index: fc.nat(),
      term: fc.nat(),
      type: fc.constantFrom('command' as const, 'noop' as const, 'config' as const),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    const msg = fc.oneof(
      fc.record({
        type: fc.constant('append' as const),
        term: fc.nat(),
        from: fc.constant('n1'),
        prevLogIndex: fc.nat(),
        prevLogTerm: fc.nat(),
        entries: fc.array(entry, { maxLength: 5 }),
        leaderCommit: fc.nat(),
        seq: fc.nat(),
      }),
      fc.record({
        type: fc.constant('vote' as const),
        term: fc.nat(),
        from: fc.constant('n2'),
        preVote: fc.boolean(),
        lastLogIndex: fc.nat(),
        lastLogTerm: fc.nat(),
        transfer: fc.boolean(),
      }),
      fc.record({
        type: fc.constant('install-snapshot' as const),
        term: fc.nat(),
        from: fc.constant('n3'),
        meta: fc.record({
          index: fc.nat(),
          term: fc.nat(),
          configuration: fc.constant({
            servers: [{ id: 'n1', address: 'x:1', suffrage: 'voter' as const }],
          }),
          configurationIndex: fc.nat(),
        }),
        data: fc.uint8Array({ maxLength: 100 }),
        seq: fc.nat(),
      }),
    ) as fc.Arbitrary<RaftMessage>;
    fc.assert(
      fc.property(msg, (m) => {
        expect(decodeMessage(Buffer.concat(encodeMessage(m)))).toEqual(m);
      }),
    );
  });

  it('names what is wrong with a malformed message', () => {
    const body = Buffer.from(JSON.stringify({ type: 'vote', term: -1, from: 'x' }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length);
    expect(() => decodeMessage(Buffer.concat([len, body]))).toThrow(
      /term must be a non-negative integer/,
    );
    expect(() => decodeMessage(Buffer.from([1, 0]))).toThrow(/shorter/);
  });
});

describe('TcpTransport (mutual TLS on loopback)', () => {
  it('delivers messages both ways over reused connections', async () => {
    const { a, b } = await pair();
    const atB: RaftMessage[] = [];
    const atA: RaftMessage[] = [];
    b.setHandler((m) => atB.push(m));
    a.setHandler((m) => atA.push(m));
    for (let i = 0; i < 100; i++)
      a.send({ id: 'b', address: b.localAddress, suffrage: 'voter' }, heartbeat('a', i));
    b.send({ id: 'a', address: a.localAddress, suffrage: 'voter' }, heartbeat('b', 7));
    await soon(() => atB.length === 100 && atA.length === 1, 'delivery');
    expect(atB.map((m) => (m.type === 'append' ? m.seq : -1))).toEqual([...Array(100).keys()]);
    expect(atB[0]).toEqual(heartbeat('a', 0));
  });

  it('carries a large snapshot intact', async () => {
    const { a, b } = await pair();
    const got: RaftMessage[] = [];
    b.setHandler((m) => got.push(m));
    const data = new Uint8Array(8 << 20).map((_, i) => i % 251);
    const snapshot: RaftMessage = {
      type: 'install-snapshot',
      term: 3,
      from: 'a',
      meta: { index: 10, term: 3, configuration: { servers: [] }, configurationIndex: 1 },
      data,
      seq: 1,
    };
    a.send({ id: 'b', address: b.localAddress, suffrage: 'voter' }, snapshot);
    await soon(() => got.length === 1, 'the snapshot', 20_000);
    const m = got[0]!;
    expect(m.type === 'install-snapshot' && m.meta).toEqual(snapshot.meta);
    // Compare bytes directly: a deep equality over 8 MiB element by element is very slow.
    expect(m.type === 'install-snapshot' && Buffer.from(m.data).equals(Buffer.from(data))).toBe(
      true,
    );
  });

  it('refuses a peer whose certificate comes from another CA', async () => {
    const { b } = await pair();
    const got: RaftMessage[] = [];
    b.setHandler((m) => got.push(m));
    const rogueCa = await createRootCa({ commonName: 'rogue' });
    const rogue = await issueCertificate(rogueCa, {
      nodeId: 'a',
      role: 'manager',
      clusterId: 'test-cluster',
    });
    const port = Number(b.localAddress.split(':')[1]);
    const attempt = rawConnect(port, {
      ca: b['config'].caPem,
      cert: rogue.certPem,
      key: rogue.keyPem ?? '',
    }).then(
      (s) =>
        new Promise<void>((resolve) => {
          s.write(frame(Buffer.concat(encodeMessage(heartbeat('a', 1))).subarray(0)));
          s.once('close', () => resolve());
          s.once('error', () => resolve());
        }),
      () => undefined,
    );
    await attempt;
    await soon(() => b.connectionsRefused > 0, 'refusal');
    expect(got).toHaveLength(0);
  });

  it('refuses a peer with no certificate, and a worker certificate', async () => {
    const { b, caPem } = await pair();
    const got: RaftMessage[] = [];
    b.setHandler((m) => got.push(m));
    const port = Number(b.localAddress.split(':')[1]);
    await rawConnect(port, { ca: caPem }).then(
      (s) => new Promise((r) => s.once('close', r)),
      () => undefined,
    );
    const worker = (await testPki(['w1'], { workers: ['w1'] })).node('w1');
    await rawConnect(port, { ca: caPem, cert: worker.certPem, key: worker.keyPem }).then(
      (s) => new Promise((r) => s.once('close', r)),
      () => undefined,
    );
    await soon(() => b.connectionsRefused >= 2, 'two refusals');
    expect(got).toHaveLength(0);
  });

  it('closes only the connection that sent a malformed frame', async () => {
    const { a, b, caPem } = await pair();
    const got: RaftMessage[] = [];
    b.setHandler((m) => got.push(m));
    const pki = await testPki(['c']);
    const port = Number(b.localAddress.split(':')[1]);
    const bad = await rawConnect(port, {
      ca: caPem,
      cert: pki.node('c').certPem,
      key: pki.node('c').keyPem,
    });
    const closed = new Promise((r) => bad.once('close', r));
    a.send({ id: 'b', address: b.localAddress, suffrage: 'voter' }, heartbeat('a', 1));
    await soon(() => got.length === 1, 'first message');
    bad.write(frame(Buffer.from('this is not a raft message')));
    await closed;
    a.send({ id: 'b', address: b.localAddress, suffrage: 'voter' }, heartbeat('a', 2));
    await soon(() => got.length === 2, 'message after the bad frame');
  });

  it('closes a connection whose messages claim another sender', async () => {
    const { b, caPem } = await pair();
    const got: RaftMessage[] = [];
    b.setHandler((m) => got.push(m));
    const pki = await testPki(['c']);
    const port = Number(b.localAddress.split(':')[1]);
    const s = await rawConnect(port, {
      ca: caPem,
      cert: pki.node('c').certPem,
      key: pki.node('c').keyPem,
    });
    const closed = new Promise((r) => s.once('close', r));
    s.write(frame(Buffer.concat(encodeMessage(heartbeat('a', 1)))));
    await closed;
    expect(got).toHaveLength(0);
  });

  it('replaces a connection whose peer stops acking (a partition TCP would sit out)', async () => {
    const pki = await testPki(['a', 'b']);
    const a = await TcpTransport.listen({
      listen: '127.0.0.1:0',
      caPem: pki.ca.certPem,
      certPem: pki.node('a').certPem,
      keyPem: pki.node('a').keyPem,
      peerDeadMs: 300,
    });
    open.push(a);
    // A peer that reads every frame and never acks: what a sender sees of a silent black hole.
    let connections = 0;
    const mute = tls.createServer({
      ca: pki.ca.certPem,
      cert: pki.node('b').certPem,
      key: pki.node('b').keyPem,
      requestCert: true,
    });
    mute.on('secureConnection', (sock) => {
      connections++;
      sockets.push(sock);
      sock.resume();
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    try {
      const port = (mute.address() as { port: number }).port;
      const to = { id: 'b', address: `127.0.0.1:${port}`, suffrage: 'voter' as const };
      for (let seq = 1; seq <= 60 && connections < 2; seq++) {
        a.send(to, heartbeat('a', seq));
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(connections).toBeGreaterThanOrEqual(2);
    } finally {
      // close() waits for open connections: drop ours first.
      for (const sock of sockets.splice(0)) sock.destroy();
      await new Promise((r) => mute.close(r));
    }
  });
});
