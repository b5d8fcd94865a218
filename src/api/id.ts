/** A source of random bytes; pass `crypto.randomFillSync`-backed bytes in production. */
export type RandomBytes = (length: number) => Uint8Array;

export const ID_LENGTH = 25;
const ID_PATTERN = /^[0-9a-z]{25}$/;

/**
 * 128 random bits written in base36 and left-padded to 25 characters, as swarmkit's
 * identity.NewID does, so ids look the same to docker users.
 */
export function generateId(random: RandomBytes): string {
  const bytes = random(16);
  if (bytes.length < 16) throw new Error('random source returned fewer than 16 bytes');
  let n = 0n;
  for (let i = 0; i < 16; i++) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n.toString(36).padStart(ID_LENGTH, '0');
}

export function isId(s: string): boolean {
  return ID_PATTERN.test(s);
}
