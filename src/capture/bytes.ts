// Byte-order helpers indexing a Uint8Array directly: cheaper than DataView in the per-record loops.

export function u16le(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8);
}
export function u16be(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
export function u32le(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}
export function u32be(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}
export function u16(b: Uint8Array, p: number, le: boolean): number {
  return le ? u16le(b, p) : u16be(b, p);
}
export function u32(b: Uint8Array, p: number, le: boolean): number {
  return le ? u32le(b, p) : u32be(b, p);
}
/** Signed 64-bit integer as a number (exact up to 2^53). */
export function i64(b: Uint8Array, p: number, le: boolean): number {
  const hi = le ? u32le(b, p + 4) : u32be(b, p);
  const lo = le ? u32le(b, p) : u32be(b, p + 4);
  return (hi | 0) * 4294967296 + lo;
}
/**
 * Length of a pcapng string option up to its first NUL: the spec says strings are not terminated, but some
 * writers add a NUL, and Wireshark and libpcap read the value as a C string (so `abc\0` is `abc`).
 */
export function cStringLength(b: Uint8Array, at: number, len: number): number {
  for (let i = 0; i < len; i++) if (b[at + i] === 0) return i;
  return len;
}
/** The bytes of a `len`-byte frame a capture keeps under `snaplen`: 0 means no limit, in pcap as in pcapng. */
export function capLength(len: number, snaplen: number): number {
  return snaplen !== 0 && len > snaplen ? snaplen : len;
}
export function pad4(n: number): number {
  return n + ((4 - (n & 3)) & 3);
}
