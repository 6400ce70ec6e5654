/** IPv4 text <-> uint32 helpers for scenario addressing. Pure, allocation-light, no exceptions: `null` means "not IPv4". */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Dotted quad to unsigned 32-bit number, or null when the text is not a plain IPv4 address. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Ipv4Cidr {
  /** Network address as written (must have no host bits set). */
  addr: string;
  addr32: number;
  prefix: number;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * `a.b.c.d/n` to a CIDR; null when malformed or when host bits are set (10.244.1.5/24 is a typo, not a network).
 * `maskHostBits` clears them instead, as Go's ParseCIDR does for the fields Kubernetes reads that way
 * (loadBalancerSourceRanges: `203.0.113.7/25` is `203.0.113.0/25`).
 */
export function parseCidr(text: string, opts: { maskHostBits?: boolean } = {}): Ipv4Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const written = parseIpv4(text.slice(0, slash));
  const pfx = text.slice(slash + 1);
  if (written === null || !/^(3[0-2]|[12]?\d)$/.test(pfx)) return null;
  const prefix = Number(pfx);
  const addr32 = (written & prefixMask(prefix)) >>> 0;
  if (addr32 !== written && !opts.maskHostBits) return null;
  return { addr: formatIpv4(addr32), addr32, prefix };
}

export function cidrContains(cidr: { addr32: number; prefix: number }, ip32: number): boolean {
  const m = prefixMask(cidr.prefix);
  return ((ip32 & m) >>> 0) === cidr.addr32;
}

/** Last address of the block (the broadcast address for prefixes shorter than /31). */
export function cidrLast(cidr: { addr32: number; prefix: number }): number {
  return (cidr.addr32 | ~prefixMask(cidr.prefix)) >>> 0;
}

export function formatCidr(cidr: { addr32: number; prefix: number }): string {
  return `${formatIpv4(cidr.addr32)}/${cidr.prefix}`;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-cased colon MAC, or null. Accepts upper case input since people paste from `ip link`. */
export function normalizeMac(text: string): string | null {
  const t = text.toLowerCase();
  return MAC.test(t) ? t : null;
}

/** `p0:p1:` + the 4 bytes of an IPv4 address: the shape of every derived MAC in docs/scenario.md. */
export function macFromIpv4(prefix0: number, prefix1: number, ip32: number): string {
  const b = [prefix0, prefix1, ip32 >>> 24, (ip32 >>> 16) & 255, (ip32 >>> 8) & 255, ip32 & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
