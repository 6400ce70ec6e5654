/**
 * MurmurHash3_x64_128 (smhasher's MurmurHash3.cpp; Cilium's pkg/murmur3.Hash128 is a port of it),
 * little-endian block reads. BigInt arithmetic: this runs once per backend per table rebuild, never
 * per packet. Vectors: test/lb/fixtures/murmur3_vectors.c and smhasher's verification value 0x6384BA69.
 */
const M64 = 0xffff_ffff_ffff_ffffn;
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & M64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & M64;
  k ^= k >> 33n;
  return k;
}

function le64(d: Uint8Array, p: number, n = 8): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(d[p + i]);
  return v;
}

/** Returns [h1, h2] as unsigned 64-bit BigInts. */
export function murmur3x64128(data: Uint8Array, seed: number): [bigint, bigint] {
  const len = data.length;
  const nblocks = Math.floor(len / 16);
  let h1 = BigInt(seed >>> 0);
  let h2 = h1;
  for (let i = 0; i < nblocks; i++) {
    let k1 = le64(data, i * 16);
    let k2 = le64(data, i * 16 + 8);
    k1 = (k1 * C1) & M64; k1 = rotl64(k1, 31n); k1 = (k1 * C2) & M64; h1 ^= k1;
    h1 = rotl64(h1, 27n); h1 = (h1 + h2) & M64; h1 = (h1 * 5n + 0x52dce729n) & M64;
    k2 = (k2 * C2) & M64; k2 = rotl64(k2, 33n); k2 = (k2 * C1) & M64; h2 ^= k2;
    h2 = rotl64(h2, 31n); h2 = (h2 + h1) & M64; h2 = (h2 * 5n + 0x38495ab5n) & M64;
  }
  const tail = nblocks * 16;
  const rem = len & 15;
  if (rem > 8) {
    let k2 = le64(data, tail + 8, rem - 8);
    k2 = (k2 * C2) & M64; k2 = rotl64(k2, 33n); k2 = (k2 * C1) & M64; h2 ^= k2;
  }
  if (rem > 0) {
    let k1 = le64(data, tail, Math.min(rem, 8));
    k1 = (k1 * C1) & M64; k1 = rotl64(k1, 31n); k1 = (k1 * C2) & M64; h1 ^= k1;
  }
  const l = BigInt(len);
  h1 ^= l;
  h2 ^= l;
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & M64;
  h2 = (h2 + h1) & M64;
  return [h1, h2];
}
