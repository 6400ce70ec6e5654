/**
 * The kernel's hsiphash() over one u32, as built on 64-bit (lib/siphash.c, BITS_PER_LONG == 64):
 * "HalfSipHash1-3" there is really SipHash-1-3 with a 64-bit key pair, truncated to 32 bits.
 * ip_vs_mh.c hashes a host-order u32 (4 bytes, little endian on x86) with a fixed key.
 * 64-bit lanes are kept as hi/lo uint32 pairs in a module scratch array: no BigInt, no allocation.
 */
const s = new Uint32Array(8); // v0h v0l v1h v1l v2h v2l v3h v3l

function add(dst: number, src: number): void {
  const lo = (s[dst + 1] + s[src + 1]) >>> 0;
  const carry = lo < s[dst + 1] ? 1 : 0;
  s[dst] = (s[dst] + s[src] + carry) >>> 0;
  s[dst + 1] = lo;
}
function rotl(i: number, n: number): void {
  const h = s[i];
  const l = s[i + 1];
  if (n === 32) {
    s[i] = l;
    s[i + 1] = h;
    return;
  }
  s[i] = ((h << n) | (l >>> (32 - n))) >>> 0;
  s[i + 1] = ((l << n) | (h >>> (32 - n))) >>> 0;
}
function xor(dst: number, src: number): void {
  s[dst] ^= s[src];
  s[dst + 1] ^= s[src + 1];
}
const V0 = 0, V1 = 2, V2 = 4, V3 = 6;
function sipround(): void {
  add(V0, V1); rotl(V1, 13); xor(V1, V0); rotl(V0, 32);
  add(V2, V3); rotl(V3, 16); xor(V3, V2);
  add(V0, V3); rotl(V3, 21); xor(V3, V0);
  add(V2, V1); rotl(V1, 17); xor(V1, V2); rotl(V2, 32);
}

/**
 * hsiphash(&v, 4, key) with key = {k0, k1} where each key word is a 64-bit unsigned long given as
 * (hi, lo) uint32 halves. Returns the uint32 result.
 */
export function hsiphashU32(v: number, k0h: number, k0l: number, k1h: number, k1l: number): number {
  s[0] = (0x736f6d65 ^ k0h) >>> 0; s[1] = (0x70736575 ^ k0l) >>> 0;
  s[2] = (0x646f7261 ^ k1h) >>> 0; s[3] = (0x6e646f6d ^ k1l) >>> 0;
  s[4] = (0x6c796765 ^ k0h) >>> 0; s[5] = (0x6e657261 ^ k0l) >>> 0;
  s[6] = (0x74656462 ^ k1h) >>> 0; s[7] = (0x79746573 ^ k1l) >>> 0;
  // b = (len << 56) | le32(v), len = 4
  const bh = 0x04000000;
  const bl = v >>> 0;
  s[6] ^= bh; s[7] ^= bl;
  sipround();
  s[0] ^= bh; s[1] ^= bl;
  s[5] ^= 0xff;
  sipround(); sipround(); sipround();
  return (s[1] ^ s[3] ^ s[5] ^ s[7]) >>> 0;
}
