import { parseNodeIdentity, type NodeIdentity } from './node-identity.js';
import { x509 } from './x509-provider.js';

export type CertificateCheck =
  | { ok: true; identity: NodeIdentity; notAfter: Date }
  | {
      ok: false;
      reason:
        'malformed' | 'wrong-issuer' | 'bad-signature' | 'not-yet-valid' | 'expired' | 'not-a-node';
      message: string;
    };

/**
 * Checks that a node certificate chains to `caCertPem` and is valid at `now`, and reads the
 * node identity from it. A refused certificate is an expected outcome, hence a value.
 */
export async function verifyNodeCertificate(
  certPem: string,
  caCertPem: string,
  now: Date = new Date(),
): Promise<CertificateCheck> {
  let cert: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
    ca = new x509.X509Certificate(caCertPem);
  } catch (e) {
    return {
      ok: false,
      reason: 'malformed',
      message: `not a PEM certificate: ${(e as Error).message}`,
    };
  }
  if (cert.issuer !== ca.subject) {
    return {
      ok: false,
      reason: 'wrong-issuer',
      message: `certificate issued by "${cert.issuer}", not by the cluster CA "${ca.subject}"`,
    };
  }
  const signed = await cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
  if (!signed) {
    return {
      ok: false,
      reason: 'bad-signature',
      message: 'certificate signature does not verify with the cluster CA key',
    };
  }
  if (now < cert.notBefore) {
    return {
      ok: false,
      reason: 'not-yet-valid',
      message: `certificate valid only from ${cert.notBefore.toISOString()}`,
    };
  }
  if (now > cert.notAfter) {
    return {
      ok: false,
      reason: 'expired',
      message: `certificate expired at ${cert.notAfter.toISOString()}`,
    };
  }
  const parsed = parseNodeIdentity(certPem);
  if (!parsed.ok) return { ok: false, reason: 'not-a-node', message: parsed.message };
  return { ok: true, identity: parsed.identity, notAfter: cert.notAfter };
}
