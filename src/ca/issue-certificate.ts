import { generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import { invalidArgument } from '../api/errors.js';
import { checkId, roleToOu, type NodeRole } from './node-identity.js';
import { checkValidityDays, clockSkewMs, randomSerial, type RootCa } from './root-ca.js';
import { ecdsaSha256, importSigningKey, x509 } from './x509-provider.js';

export interface IssueRequest {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  sans?: { dns?: string[]; ips?: string[] };
  validityDays?: number;
  /** A joiner's own SPKI public key (it keeps the private key); without it a key pair is made here. */
  publicKeyPem?: string;
}

export interface NodeCertificate {
  certPem: string;
  /** Absent when the request carried its own public key. */
  keyPem?: string;
}

/** Swarmkit issues node certificates for 90 days and renews them well before. */
export const defaultNodeCertValidityDays = 90;
const dayMs = 24 * 60 * 60 * 1000;

export async function issueCertificate(
  ca: RootCa,
  request: IssueRequest,
): Promise<NodeCertificate> {
  checkId(request.nodeId, 'issueCertificate nodeId');
  checkId(request.clusterId, 'issueCertificate clusterId');
  if (request.role !== 'manager' && request.role !== 'worker') {
    throw invalidArgument(
      `issueCertificate role ${JSON.stringify(request.role)}: must be "manager" or "worker"`,
    );
  }
  const validityDays = request.validityDays ?? defaultNodeCertValidityDays;
  checkValidityDays(validityDays, 'issueCertificate validityDays');
  const altNames = subjectAltNames(request.sans ?? {});
  // As in swarmkit: the role and the node id are DNS names of every node certificate, so a peer
  // reached by IP is verified as "a manager of this cluster" (servername swarm-manager) or as
  // one exact node, without knowing its addresses in advance.
  for (const name of [roleToOu(request.role), request.nodeId.toLowerCase()]) {
    if (
      /^[a-z0-9]([a-z0-9-]{0,62})$/.test(name) &&
      !altNames.some((n) => n.type === 'dns' && n.value === name)
    ) {
      altNames.unshift({ type: 'dns', value: name });
    }
  }

  const { caCert, authorityKeyId } = await issuerOf(ca.certPem);
  const signingKey = await importSigningKey(ca.keyPem);
  let publicKey: x509.PublicKeyType;
  let keyPem: string | undefined;
  if (request.publicKeyPem !== undefined) {
    try {
      publicKey = new x509.PublicKey(request.publicKeyPem);
    } catch (e) {
      throw invalidArgument(
        `issueCertificate publicKeyPem: not an SPKI public key: ${(e as Error).message}`,
        e,
      );
    }
  } else {
    // node:crypto's key objects give the SPKI bytes directly; a webcrypto key would be
    // exported and parsed again inside @peculiar/x509, which costs several times more.
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    publicKey = new x509.PublicKey(
      new Uint8Array(keys.publicKey.export({ type: 'spki', format: 'der' })),
    );
    keyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  const now = Date.now();
  const notAfter = Math.min(now + validityDays * dayMs, caCert.notAfter.getTime());
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    // One certificate serves a node as TLS server (raft, NATS routes, API) and as client.
    new x509.ExtendedKeyUsageExtension(
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    authorityKeyId,
  ];
  if (altNames.length > 0)
    extensions.push(new x509.SubjectAlternativeNameExtension(altNames, false));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // RDN order O, OU, CN (most significant first), as swarmkit's certificates are laid out.
    subject: `O=${request.clusterId}, OU=${roleToOu(request.role)}, CN=${request.nodeId}`,
    // The issuer must be the CA subject byte for byte: Go and OpenSSL match chains on raw names.
    issuer: caCert.subjectName,
    notBefore: new Date(now - clockSkewMs),
    notAfter: new Date(notAfter),
    publicKey,
    signingKey,
    signingAlgorithm: ecdsaSha256,
    extensions,
  });
  const certPem = cert.toString('pem');
  return keyPem === undefined ? { certPem } : { certPem, keyPem };
}

interface Issuer {
  caCert: x509.X509Certificate;
  authorityKeyId: x509.AuthorityKeyIdentifierExtension;
}

const issuers = new Map<string, Promise<Issuer>>();

/** Parsing the CA certificate costs more than signing; a CA signs many certificates. */
function issuerOf(caCertPem: string): Promise<Issuer> {
  let issuer = issuers.get(caCertPem);
  if (issuer === undefined) {
    issuer = (async () => {
      const caCert = new x509.X509Certificate(caCertPem);
      return {
        caCert,
        authorityKeyId: await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      };
    })();
    issuers.set(caCertPem, issuer);
    issuer.catch(() => issuers.delete(caCertPem));
  }
  return issuer;
}

function subjectAltNames(sans: { dns?: string[]; ips?: string[] }): x509.JsonGeneralNames {
  const names: x509.JsonGeneralNames = [];
  for (const [i, dns] of (sans.dns ?? []).entries()) {
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(dns)) {
      throw invalidArgument(
        `issueCertificate sans.dns[${i}] ${JSON.stringify(dns)}: not a DNS name`,
      );
    }
    names.push({ type: 'dns', value: dns });
  }
  for (const [i, ip] of (sans.ips ?? []).entries()) {
    if (isIP(ip) === 0) {
      throw invalidArgument(
        `issueCertificate sans.ips[${i}] ${JSON.stringify(ip)}: not an IPv4 or IPv6 address`,
      );
    }
    names.push({ type: 'ip', value: ip });
  }
  return names;
}
