/**
 * IPv4 address management for overlay networks, as pure functions over what the store holds.
 * Nothing here keeps state: the allocator rebuilds the used set from the store inside each
 * transaction, so every manager that replays the same log sees the same addresses, and an
 * address is free exactly when no live task, service VIP or gateway holds it.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    n = n * 256 + o;
  }
  return n;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (Math.floor(n / 2 ** s) % 256).toString()).join('.');
}

const size = (prefix: number): number => 2 ** (32 - prefix);

/** A CIDR whose host bits are all zero (`10.0.1.0/24`); `10.0.1.5/24` is refused, as docker does. */
export function parseCidr(s: string): Parsed<Cidr> {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  const base = m ? parseIp(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (base === undefined || !(prefix >= 0 && prefix <= 32)) {
    return { ok: false, error: `invalid CIDR address: ${s}` };
  }
  if (base % size(prefix) !== 0) {
    return {
      ok: false,
      error: `invalid subnet ${s}: it should be ${formatCidr({ base: base - (base % size(prefix)), prefix })}`,
    };
  }
  return { ok: true, value: { base, prefix } };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b.prefix) && b.base < a.base + size(a.prefix);
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + size(c.prefix);
}

/**
 * The first subnet of `/subnetSize` inside the pools that overlaps none of `taken`
 * (swarmkit's default address pool walk: lowest first, so every manager picks the same).
 */
export function allocateSubnet(
  pools: readonly Cidr[],
  subnetSize: number,
  taken: readonly Cidr[],
): Cidr | undefined {
  for (const pool of pools) {
    if (subnetSize < pool.prefix) continue;
    const step = size(subnetSize);
    for (let base = pool.base; base < pool.base + size(pool.prefix); base += step) {
      const candidate = { base, prefix: subnetSize };
      const clash = taken.find((t) => overlaps(t, candidate));
      // Jump past the clashing subnet instead of walking it /subnetSize by /subnetSize.
      if (clash) {
        const end = clash.base + size(clash.prefix);
        if (end > base + step) base = end - step;
        continue;
      }
      return candidate;
    }
  }
  return undefined;
}

/**
 * The host addresses of one subnet: network and broadcast are never handed out, the gateway
 * and whatever `used` holds are taken; `allocate` gives the lowest free one.
 */
export class AddressSpace {
  private readonly used = new Set<number>();

  constructor(
    readonly subnet: Cidr,
    used: Iterable<number> = [],
  ) {
    for (const u of used) this.used.add(u);
  }

  get first(): number {
    return this.subnet.base + 1;
  }

  get last(): number {
    // A /31 or /32 has no broadcast to spare; overlay subnets are /24-ish anyway.
    return this.subnet.prefix >= 31
      ? this.subnet.base + size(this.subnet.prefix) - 1
      : this.subnet.base + size(this.subnet.prefix) - 2;
  }

  /** Marks an address as held; false when it is outside the subnet. */
  reserve(ip: number): boolean {
    if (!contains(this.subnet, ip)) return false;
    this.used.add(ip);
    return true;
  }

  allocate(): number | undefined {
    for (let ip = this.first; ip <= this.last; ip++) {
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
    return undefined;
  }

  release(ip: number): void {
    this.used.delete(ip);
  }
}
