import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  connect,
  createServer,
  type ConnectionOptions,
  type Server,
  type TLSSocket,
} from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  certificateDigest,
  createRootCa,
  hasRole,
  mutualTlsClientOptions,
  mutualTlsServerOptions,
  peerIdentity,
  type ParsedIdentity,
  issueCertificate,
  parseNodeIdentity,
  verifyNodeCertificate,
} from '../../../src/ca/index.js';
import { TsswarmError } from '../../../src/api/errors.js';
import { testPki } from '../../helpers/certs.js';

describe('root CA and node certificates', () => {
  it('issues a certificate with swarmkit subject fields that chains to the CA', async () => {
    const { ca } = await testPki([]);
    const cert = await issueCertificate(ca, {
      nodeId: 'node-a',
      role: 'worker',
      clusterId: 'cl1',
      sans: { dns: ['node-a.lab'], ips: ['10.0.0.1'] },
    });
    expect(parseNodeIdentity(cert.certPem)).toEqual({
      ok: true,
      identity: { nodeId: 'node-a', role: 'worker', clusterId: 'cl1' },
    });
    const node = new X509Certificate(cert.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(node.checkIssued(caCert)).toBe(true);
    expect(node.verify(caCert.publicKey)).toBe(true);
    expect(node.subjectAltName).toContain('DNS:node-a.lab');
    expect(node.subjectAltName).toContain('DNS:swarm-worker');
    expect(node.subjectAltName).toContain('DNS:node-a');
    expect(node.subjectAltName).toContain('IP Address:10.0.0.1');
    expect(node.ca).toBe(false);
    expect(caCert.ca).toBe(true);
    expect(ca.digest).toBe(certificateDigest(ca.certPem));
    expect(ca.digest).toMatch(/^[0-9a-f]{64}$/);
    const check = await verifyNodeCertificate(cert.certPem, ca.certPem);
    expect(check.ok).toBe(true);
  });

  it('signs a joiner-supplied public key without ever seeing its private key', async () => {
    const { ca } = await testPki([]);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const cert = await issueCertificate(ca, {
      nodeId: 'n2',
      role: 'manager',
      clusterId: 'c',
      publicKeyPem: pem,
    });
    expect(cert.keyPem).toBeUndefined();
    expect(
      new X509Certificate(cert.certPem).publicKey.export({ type: 'spki', format: 'pem' }),
    ).toBe(pem);
  });

  it('refuses certificates of another CA, expired ones and non-node certificates', async () => {
    const { ca, node } = await testPki(['m1']);
    const other = await createRootCa({ commonName: 'other-ca' });
    const foreign = await issueCertificate(other, {
      nodeId: 'm1',
      role: 'manager',
      clusterId: 'c',
    });
    expect(await verifyNodeCertificate(foreign.certPem, ca.certPem)).toMatchObject({
      ok: false,
      reason: 'wrong-issuer',
    });
    // Same subject name as ours but a different key: only the signature tells them apart.
    const twin = await createRootCa({ commonName: 'tsswarm-test-ca' });
    const forged = await issueCertificate(twin, { nodeId: 'm1', role: 'manager', clusterId: 'c' });
    expect(await verifyNodeCertificate(forged.certPem, ca.certPem)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const later = new Date(Date.now() + 1000 * 24 * 3600 * 1000);
    expect(await verifyNodeCertificate(node('m1').certPem, ca.certPem, later)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(await verifyNodeCertificate('garbage', ca.certPem)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(parseNodeIdentity(ca.certPem)).toMatchObject({ ok: false });
  });

  it('rejects bad input with an error naming the field, before signing anything', async () => {
    const { ca } = await testPki([]);
    const bad = [
      { nodeId: 'a,CN=admin', role: 'manager', clusterId: 'c' },
      { nodeId: 'n', role: 'root', clusterId: 'c' },
      { nodeId: 'n', role: 'worker', clusterId: '' },
      { nodeId: 'n', role: 'worker', clusterId: 'c', sans: { ips: ['300.1.1.1'] } },
      { nodeId: 'n', role: 'worker', clusterId: 'c', sans: { dns: ['bad name'] } },
      { nodeId: 'n', role: 'worker', clusterId: 'c', validityDays: 0 },
      { nodeId: 'n', role: 'worker', clusterId: 'c', publicKeyPem: 'nope' },
    ] as const;
    const messages = [
      /nodeId/,
      /role/,
      /clusterId/,
      /sans\.ips\[0\]/,
      /sans\.dns\[0\]/,
      /validityDays/,
      /publicKeyPem/,
    ];
    for (const [i, request] of bad.entries()) {
      const error = await issueCertificate(ca, request as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TsswarmError);
      expect((error as Error).message).toMatch(messages[i] ?? /never/);
    }
  });

  it('gives certificates that Node TLS accepts for mutual authentication, by role or node id', async () => {
    const pki = await testPki(['srv', 'cli', 'wrk'], { workers: ['wrk'] });
    const creds = (id: string) => ({
      caPem: pki.ca.certPem,
      certPem: pki.node(id).certPem,
      keyPem: pki.node(id).keyPem,
    });
    const servers: Server[] = [];
    const peers: ParsedIdentity[] = [];
    async function serve(id: string): Promise<number> {
      const server = createServer(mutualTlsServerOptions(creds(id)), (s: TLSSocket) => {
        peers.push(peerIdentity(s));
        s.end('ok');
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as { port: number }).port;
    }
    function dial(port: number, options: ConnectionOptions): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const socket = connect({ ...options, host: '127.0.0.1', port });
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    }
    try {
      const manager = await serve('srv');
      const worker = await serve('wrk');
      expect(await dial(manager, mutualTlsClientOptions(creds('cli'), 'manager'))).toBe('ok');
      expect(await dial(manager, mutualTlsClientOptions(creds('cli'), { nodeId: 'srv' }))).toBe(
        'ok',
      );
      expect(peers[0]).toEqual({
        ok: true,
        identity: { nodeId: 'cli', role: 'manager', clusterId: pki.clusterId },
      });
      expect(hasRole(peers[0] ?? { ok: false, message: '' }, 'manager')).toBe(true);
      // A worker's certificate does not pass for a manager, nor one node for another.
      await expect(dial(worker, mutualTlsClientOptions(creds('cli'), 'manager'))).rejects.toThrow(
        /swarm-manager/,
      );
      await expect(
        dial(manager, mutualTlsClientOptions(creds('cli'), { nodeId: 'wrk' })),
      ).rejects.toThrow(/wrk/);
      // A client certificate of another CA is refused by the server: under TLS 1.3 the client
      // may see that only as a closed connection, so the check is that nothing was served.
      const other = await createRootCa({ commonName: 'other-ca' });
      const stranger = await issueCertificate(other, {
        nodeId: 'cli',
        role: 'manager',
        clusterId: pki.clusterId,
      });
      const reply = await dial(manager, {
        ...mutualTlsClientOptions(creds('cli'), 'manager'),
        cert: stranger.certPem,
        key: stranger.keyPem ?? '',
      }).catch(() => 'refused');
      expect(reply).not.toBe('ok');
      expect(peers).toHaveLength(2);
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
