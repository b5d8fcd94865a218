// docker's go-units renderings, shared so `ps`, `images` and `service ps` agree on "5 minutes ago".

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'] as const;

/**
 * A duration as go-units HumanDuration words it ("Less than a second", "About a minute",
 * "3 hours", "2 weeks"); callers append " ago" or prefix "Up ".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // go-units rounds hours to the nearest one, but every longer unit counts whole ones of those.
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/**
 * A byte count in decimal units with `precision` significant digits and trailing zeros dropped,
 * as go-units HumanSizeWithPrecision prints it with %g ("2.14MB", "1GB").
 */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(precision))}${DECIMAL_UNITS[unit] ?? 'B'}`;
}

/** go-units HumanSize: four significant digits ("2.746MB", "796kB"), as `system prune` reports. */
export function humanSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 4);
}
