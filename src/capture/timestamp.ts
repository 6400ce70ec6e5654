/**
 * Converting a 64-bit count of `unit`s to seconds + nanoseconds without going through a float of nanoseconds
 * (which loses exactness past 2^53 ns, i.e. after 1970-04-15).
 */

/** Out-parameters, so the hot path allocates nothing. */
export const tsOut = { sec: 0, nsec: 0 };

/**
 * units = hi * 2^32 + lo, divided by `div` (a power of ten <= 1e9) by 16-bit long division, so every intermediate
 * stays below 2^53. `nsMul` = 1e9 / div.
 */
export function splitPow10(hi: number, lo: number, div: number, nsMul: number): void {
  let r = hi >>> 16;
  const q3 = Math.floor(r / div);
  r -= q3 * div;
  let t = r * 65536 + (hi & 0xffff);
  const q2 = Math.floor(t / div);
  r = t - q2 * div;
  t = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(t / div);
  r = t - q1 * div;
  t = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(t / div);
  r = t - q0 * div;
  tsOut.sec = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0;
  tsOut.nsec = r * nsMul;
}

/** Rare resolutions (powers of two, or finer than 1 ns): exact BigInt arithmetic, allocation is acceptable here. */
export function splitGeneric(hi: number, lo: number, tsresol: number): void {
  const units = (BigInt(hi) << 32n) | BigInt(lo);
  if (tsresol & 0x80) {
    const k = BigInt(tsresol & 0x7f);
    tsOut.sec = Number(units >> k);
    tsOut.nsec = Number(((units & ((1n << k) - 1n)) * 1_000_000_000n) >> k);
  } else {
    const e = tsresol;
    const div = 10n ** BigInt(e);
    tsOut.sec = Number(units / div);
    const rem = units % div;
    tsOut.nsec = Number(e >= 9 ? rem / 10n ** BigInt(e - 9) : rem * 10n ** BigInt(9 - e));
  }
}

/** Inverse for writers: seconds + nanoseconds to hi/lo of a 64-bit count of 10^-e units (e <= 9). */
export function joinPow10(sec: number, nsec: number, e: number, out: { hi: number; lo: number }): void {
  const div = 10 ** e;
  const frac = Math.floor(nsec / 10 ** (9 - e));
  if (sec < 4294967296) {
    // sec = a * 2^16 + b, so a * div < 2^46 and every sum below stays exact.
    const a = Math.floor(sec / 65536);
    const b = sec - a * 65536;
    const x = a * div;
    const high = Math.floor(x / 65536);
    const low = (x - high * 65536) * 65536 + b * div + frac;
    const carry = Math.floor(low / 4294967296);
    out.hi = high + carry;
    out.lo = low - carry * 4294967296;
  } else {
    const units = BigInt(sec) * BigInt(div) + BigInt(frac);
    out.hi = Number(units >> 32n);
    out.lo = Number(units & 0xffffffffn);
  }
}
