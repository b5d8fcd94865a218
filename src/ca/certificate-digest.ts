import { createHash, X509Certificate } from 'node:crypto';

/**
 * Lower-case hex sha256 of the DER of the (first) certificate in `certPem`: what join tokens
 * pin. Node's own X509 parser, so a worker that only reads its certificates never loads the
 * issuing library.
 */
export function certificateDigest(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
