/**
 * Bob Jenkins' lookup3 hash as the Linux kernel has it (include/linux/jhash.h), bit for bit, so the
 * native addon and the kernel's htab (htab_map_hash: jhash2 when key_size % 4 == 0, else jhash) agree.
 * "cpu32" words are read little-endian: the result depends on endianness exactly as the kernel's does,
 * and dpemu fixes little-endian (docs/maps.md). Vectors: test/maps/fixtures/jhash_vectors.c.
 */
export const JHASH_INITVAL = 0xdeadbeef;

function rol32(w: number, s: number): number { return ((w << s) | (w >>> (32 - s))) >>> 0; }

function final(a: number, b: number, c: number): number {
  c = (c ^ b) >>> 0; c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 24)) >>> 0;
  return c;
}

function le32(k: Uint8Array, p: number): number {
  return (k[p] | (k[p + 1] << 8) | (k[p + 2] << 16) | (k[p + 3] << 24)) >>> 0;
}

/** jhash(key, length, initval) over `length` bytes of `k` from `off`. */
export function jhash(k: Uint8Array, off: number, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) >>> 0;
  let b = a;
  let c = a;
  let p = off;
  while (length > 12) {
    a = (a + le32(k, p)) >>> 0;
    b = (b + le32(k, p + 4)) >>> 0;
    c = (c + le32(k, p + 8)) >>> 0;
    // __jhash_mix
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 12;
    p += 12;
  }
  if (length === 0) return c;
  // The kernel's fall-through switch, one byte at a time.
  if (length >= 12) c = (c + (k[p + 11] << 24 >>> 0)) >>> 0;
  if (length >= 11) c = (c + (k[p + 10] << 16)) >>> 0;
  if (length >= 10) c = (c + (k[p + 9] << 8)) >>> 0;
  if (length >= 9) c = (c + k[p + 8]) >>> 0;
  if (length >= 8) b = (b + (k[p + 7] << 24 >>> 0)) >>> 0;
  if (length >= 7) b = (b + (k[p + 6] << 16)) >>> 0;
  if (length >= 6) b = (b + (k[p + 5] << 8)) >>> 0;
  if (length >= 5) b = (b + k[p + 4]) >>> 0;
  if (length >= 4) a = (a + (k[p + 3] << 24 >>> 0)) >>> 0;
  if (length >= 3) a = (a + (k[p + 2] << 16)) >>> 0;
  if (length >= 2) a = (a + (k[p + 1] << 8)) >>> 0;
  a = (a + k[p]) >>> 0;
  return final(a, b, c);
}

/** jhash2(k, length, initval): `words` u32 words, read little-endian from bytes at `off`. */
export function jhash2(k: Uint8Array, off: number, words: number, initval: number): number {
  let a = (JHASH_INITVAL + (words << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let p = off;
  while (words > 3) {
    a = (a + le32(k, p)) >>> 0;
    b = (b + le32(k, p + 4)) >>> 0;
    c = (c + le32(k, p + 8)) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    words -= 3;
    p += 12;
  }
  if (words === 0) return c;
  if (words >= 3) c = (c + le32(k, p + 8)) >>> 0;
  if (words >= 2) b = (b + le32(k, p + 4)) >>> 0;
  a = (a + le32(k, p)) >>> 0;
  return final(a, b, c);
}

function nwords(a: number, b: number, c: number, initval: number): number {
  return final((a + initval) >>> 0, (b + initval) >>> 0, (c + initval) >>> 0);
}
export function jhash3words(a: number, b: number, c: number, initval: number): number {
  return nwords(a, b, c, (initval + JHASH_INITVAL + 12) >>> 0);
}
export function jhash2words(a: number, b: number, initval: number): number {
  return nwords(a, b, 0, (initval + JHASH_INITVAL + 8) >>> 0);
}
export function jhash1word(a: number, initval: number): number {
  return nwords(a, 0, 0, (initval + JHASH_INITVAL + 4) >>> 0);
}

/** The kernel's htab_map_hash(): jhash2 over words when the key is a multiple of 4 bytes, else jhash. */
export function htabHash(k: Uint8Array, off: number, keySize: number, seed: number): number {
  return (keySize & 3) === 0 ? jhash2(k, off, keySize >>> 2, seed) : jhash(k, off, keySize, seed);
}
