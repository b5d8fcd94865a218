// The cluster key that seals secrets before they enter the raft log. It lives beside the CA key
// under <data-root>/certificates (0600), outside raft: the log, its snapshots and every copy of
// the store hold only ciphertext. A manager that joins receives it with its certificate.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../api/errors.js';

export const secretKeyFile = 'swarm-secrets.key';
const keyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;
/** Prefix of a sealed value, so a later format can be told apart. */
const sealedPrefix = 'aes-256-gcm:v1:';

export function secretKeyPath(dataRoot: string): string {
  return join(dataRoot, 'certificates', secretKeyFile);
}

export function generateSecretKey(): Buffer {
  return randomBytes(keyBytes);
}

export async function writeSecretKey(dataRoot: string, key: Buffer): Promise<void> {
  const path = secretKeyPath(dataRoot);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${key.toString('base64')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function readSecretKey(dataRoot: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(secretKeyPath(dataRoot), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== keyBytes) {
    throw new TsswarmError(
      ErrorCode.DataCorrupt,
      `${secretKeyPath(dataRoot)} does not hold a ${keyBytes}-byte key`,
    );
  }
  return key;
}

/** The key of this manager, created on first use (a cluster from before secrets existed). */
export async function loadOrCreateSecretKey(dataRoot: string): Promise<Buffer> {
  const existing = await readSecretKey(dataRoot);
  if (existing) return existing;
  const key = generateSecretKey();
  try {
    await writeSecretKey(dataRoot, key);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readSecretKey(dataRoot)) ?? key;
}

/**
 * AES-256-GCM with a fresh IV; `aad` (the secret's id) binds the ciphertext to its object, so a
 * sealed value copied onto another secret does not open.
 */
export function seal(key: Buffer, plaintext: Uint8Array, aad: string): string {
  const iv = randomBytes(ivBytes);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return sealedPrefix + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

export function unseal(key: Buffer, sealed: string, aad: string): Buffer {
  if (!sealed.startsWith(sealedPrefix)) {
    throw new TsswarmError(ErrorCode.DataCorrupt, 'sealed secret has an unknown format');
  }
  const raw = Buffer.from(sealed.slice(sealedPrefix.length), 'base64');
  if (raw.length < ivBytes + tagBytes) {
    throw new TsswarmError(ErrorCode.DataCorrupt, 'sealed secret is truncated');
  }
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, ivBytes));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(raw.subarray(ivBytes, ivBytes + tagBytes));
  try {
    return Buffer.concat([d.update(raw.subarray(ivBytes + tagBytes)), d.final()]);
  } catch (err) {
    // Never the plaintext or the key in the message: only which object failed.
    throw new TsswarmError(
      ErrorCode.DataCorrupt,
      `secret ${aad} does not open with this manager's key`,
      { cause: err },
    );
  }
}
