const unitBytes: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * Parses a byte size as docker's RAMInBytes does for memory, tmpfs and shm sizes (`50M`,
 * `1.5g`, `512k`, `1GiB`, `100b`, 1024): units are powers of 1024 whatever their spelling.
 * Spaces around the number and before the unit are allowed, as `-m "512 m"` always was.
 */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)(?:[iI]?[bB])?$/.exec(value.trim());
  if (!m || m[1] === undefined) return undefined;
  const unit = unitBytes[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(parseFloat(m[1]) * unit);
}
