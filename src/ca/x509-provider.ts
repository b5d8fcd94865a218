// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

// @peculiar/x509 looks its crypto provider up globally; pin it to Node's webcrypto once so
// every module of this folder signs with the same implementation.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export type { CryptoKey, CryptoKeyPair };

export const ecdsaP256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ecdsaSha256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ecdsaP256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

const signingKeys = new Map<string, Promise<CryptoKey>>();

/** Importing a PKCS#8 key costs more than a signature, so a CA key is imported once per process. */
export function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let key = signingKeys.get(keyPem);
  if (key === undefined) {
    const der = x509.PemConverter.decodeFirst(keyPem);
    key = webcrypto.subtle.importKey('pkcs8', der, ecdsaP256, false, ['sign']);
    signingKeys.set(keyPem, key);
    // A bad key must not stay cached as a rejected promise.
    key.catch(() => signingKeys.delete(keyPem));
  }
  return key;
}
