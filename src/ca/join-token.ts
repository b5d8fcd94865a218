import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeRole } from './node-identity.js';
import { certificateDigest } from './certificate-digest.js';

/**
 * Docker's join token: SWMTKN-1-<CA digest, base36, 50 chars>-<secret, base36, 25 chars>.
 * The digest lets a joiner pin the CA before it trusts anything the manager says; the secret
 * says which role the joiner is admitted to. Rotating a token changes only the secret.
 */
export interface JoinToken {
  version: 1;
  /** Lower-case hex sha256 of the CA certificate's DER, as in RootCa.digest. */
  caDigest: string;
  secret: string;
}

export interface JoinTokens {
  worker: string;
  manager: string;
}

export type JoinTokenProblem =
  | 'bad-prefix'
  | 'bad-version'
  | 'bad-format'
  | 'bad-digest-length'
  | 'bad-secret-length'
  | 'bad-characters';

export type ParsedJoinToken =
  { ok: true; token: JoinToken } | { ok: false; problem: JoinTokenProblem; message: string };

export const joinTokenPrefix = 'SWMTKN';
export const joinTokenVersion = 1;
export const digestLength = 50;
export const secretLength = 25;
// 128 bits of secret fit in 25 base36 digits (36^25 > 2^129).
const secretBytes = 16;

export type RandomSource = (size: number) => Uint8Array;

export function generateJoinToken(caDigest: string, random: RandomSource = randomBytes): string {
  if (!/^[0-9a-f]{64}$/.test(caDigest)) {
    throw new Error(
      `generateJoinToken: caDigest must be 64 lower-case hex digits, got ${JSON.stringify(caDigest)}`,
    );
  }
  const digest = BigInt(`0x${caDigest}`).toString(36).padStart(digestLength, '0');
  const bytes = random(secretBytes);
  if (bytes.length !== secretBytes)
    throw new Error(
      `generateJoinToken: random source gave ${bytes.length} bytes, not ${secretBytes}`,
    );
  const secret = BigInt(`0x${Buffer.from(bytes).toString('hex')}`)
    .toString(36)
    .padStart(secretLength, '0');
  return `${joinTokenPrefix}-${joinTokenVersion}-${digest}-${secret}`;
}

export function generateJoinTokens(
  caDigest: string,
  random: RandomSource = randomBytes,
): JoinTokens {
  return {
    worker: generateJoinToken(caDigest, random),
    manager: generateJoinToken(caDigest, random),
  };
}

/** Same CA digest, new secret: the old token stops admitting anyone. */
export function rotateJoinToken(token: string, random: RandomSource = randomBytes): string {
  const parsed = parseJoinToken(token);
  if (!parsed.ok) throw new Error(`rotateJoinToken: ${parsed.message}`);
  return generateJoinToken(parsed.token.caDigest, random);
}

export function parseJoinToken(token: string): ParsedJoinToken {
  const fail = (problem: JoinTokenProblem, message: string): ParsedJoinToken => ({
    ok: false,
    problem,
    message: `invalid join token: ${message}`,
  });
  const parts = token.split('-');
  if (parts[0] !== joinTokenPrefix)
    return fail('bad-prefix', `must start with "${joinTokenPrefix}-"`);
  if (parts.length !== 4) {
    return fail(
      'bad-format',
      `expected ${joinTokenPrefix}-<version>-<CA digest>-<secret>, got ${parts.length} dash-separated parts`,
    );
  }
  const [, version, digest = '', secret = ''] = parts;
  if (version !== String(joinTokenVersion)) {
    return fail(
      'bad-version',
      `version ${JSON.stringify(version)} is not supported (only ${joinTokenVersion})`,
    );
  }
  if (digest.length !== digestLength) {
    return fail(
      'bad-digest-length',
      `CA digest part has ${digest.length} characters, expected ${digestLength}`,
    );
  }
  if (secret.length !== secretLength) {
    return fail(
      'bad-secret-length',
      `secret part has ${secret.length} characters, expected ${secretLength}`,
    );
  }
  if (!/^[0-9a-z]+$/.test(digest) || !/^[0-9a-z]+$/.test(secret)) {
    return fail('bad-characters', 'CA digest and secret must be lower-case base36 (0-9, a-z)');
  }
  const digestValue = base36ToBigInt(digest);
  if (digestValue >= 1n << 256n)
    return fail('bad-digest-length', 'CA digest part is larger than a sha256 digest');
  return {
    ok: true,
    token: { version: 1, caDigest: digestValue.toString(16).padStart(64, '0'), secret },
  };
}

function base36ToBigInt(text: string): bigint {
  let value = 0n;
  for (const ch of text) value = value * 36n + BigInt(parseInt(ch, 36));
  return value;
}

export type JoinTokenMatch = { ok: true; role: NodeRole } | { ok: false; message: string };

/**
 * Which role a presented token admits. Both secrets are compared in constant time, and both
 * always, so the timing says nothing about how much of a secret was guessed.
 */
export function matchJoinToken(presented: string, current: JoinTokens): JoinTokenMatch {
  const parsed = parseJoinToken(presented);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const worker = sameToken(presented, current.worker);
  const manager = sameToken(presented, current.manager);
  if (manager) return { ok: true, role: 'manager' };
  if (worker) return { ok: true, role: 'worker' };
  const workerParsed = parseJoinToken(current.worker);
  if (workerParsed.ok && workerParsed.token.caDigest !== parsed.token.caDigest) {
    return {
      ok: false,
      message: "join token is for another cluster (its CA digest does not match this cluster's CA)",
    };
  }
  return { ok: false, message: 'join token secret does not match: it may have been rotated' };
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // Lengths are fixed by the format, so comparing them leaks nothing secret.
  return left.length === right.length && timingSafeEqual(left, right);
}

export type CaPinCheck = { ok: true } | { ok: false; message: string };

/**
 * A joiner's check of the manager it talks to: the CA certificate the manager presents must
 * have the digest pinned in the token, or the joiner is talking to someone else's cluster.
 */
export function checkCaAgainstToken(token: string, presentedCaCertPem: string): CaPinCheck {
  const parsed = parseJoinToken(token);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  let digest: string;
  try {
    digest = certificateDigest(presentedCaCertPem);
  } catch (e) {
    return {
      ok: false,
      message: `the manager presented no readable CA certificate: ${(e as Error).message}`,
    };
  }
  const expected = Buffer.from(parsed.token.caDigest, 'hex');
  const actual = Buffer.from(digest, 'hex');
  if (!timingSafeEqual(expected, actual)) {
    return {
      ok: false,
      message: `the manager's CA (sha256:${digest}) is not the one the join token pins (sha256:${parsed.token.caDigest})`,
    };
  }
  return { ok: true };
}
