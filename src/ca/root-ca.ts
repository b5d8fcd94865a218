import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../api/errors.js';
import { certificateDigest } from './certificate-digest.js';
import { ecdsaSha256, generateKeyPair, privateKeyToPem, x509 } from './x509-provider.js';

/** The cluster's root of trust. `digest` is what join tokens pin (see join-token.ts). */
export interface RootCa {
  certPem: string;
  keyPem: string;
  /** Lower-case hex sha256 of the DER-encoded CA certificate. */
  digest: string;
}

/** What a node that is not a CA holds: the CA certificate without its key. */
export type TrustRoot = Omit<RootCa, 'keyPem'>;

export interface RootCaOptions {
  commonName?: string;
  validityDays?: number;
}

// Swarmkit's root CA lives 20 years; rotation is an explicit operation, not an expiry.
export const defaultRootCaValidityDays = 20 * 365;
const dayMs = 24 * 60 * 60 * 1000;
// Clocks of cluster nodes drift; a certificate valid "from now" would be refused by a node
// whose clock is a little behind.
export const clockSkewMs = 5 * 60 * 1000;

export async function createRootCa(options: RootCaOptions = {}): Promise<RootCa> {
  const commonName = options.commonName ?? 'swarm-ca';
  const validityDays = options.validityDays ?? defaultRootCaValidityDays;
  checkValidityDays(validityDays, 'createRootCa validityDays');
  if (!/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(commonName)) {
    throw invalidArgument(
      `createRootCa commonName ${JSON.stringify(commonName)}: use 1-64 letters, digits, space, '_', '.', '-'`,
    );
  }
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - clockSkewMs),
    notAfter: new Date(now + validityDays * dayMs),
    keys,
    signingAlgorithm: ecdsaSha256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return {
    certPem,
    keyPem: await privateKeyToPem(keys.privateKey),
    digest: certificateDigest(certPem),
  };
}

/** sha256 of the DER bytes of the first certificate in `certPem`, lower-case hex. */
export { certificateDigest };

export function checkValidityDays(days: number, where: string): void {
  if (!Number.isInteger(days) || days < 1 || days > 100 * 365) {
    throw invalidArgument(`${where} ${days}: must be a whole number of days from 1 to 36500`);
  }
}

/** Positive 128-bit serial: the top bit cleared so DER needs no sign byte. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}
