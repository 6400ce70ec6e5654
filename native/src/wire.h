// Byte access and checksums, the C++ twins of src/dataplane/wire.ts and src/packet/checksum.ts.
// Every function computes exactly what its TypeScript namesake computes (the parity tests hold them to it).
#pragma once
#include <cstdint>
#include <cstring>

namespace dpemu {

// Big-endian loads and stores, as one unaligned access and a byte swap (the byte-at-a-time forms
// compiled to separate byte accesses on the hot path).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "rd16/rd32/wr16/wr32 swap little-endian words");
inline uint32_t rd16(const uint8_t* b, int64_t o) { uint16_t v; std::memcpy(&v, b + o, 2); return __builtin_bswap16(v); }
inline uint32_t rd32(const uint8_t* b, int64_t o) { uint32_t v; std::memcpy(&v, b + o, 4); return __builtin_bswap32(v); }
inline void wr16(uint8_t* b, int64_t o, uint32_t v) { const uint16_t x = __builtin_bswap16(uint16_t(v)); std::memcpy(b + o, &x, 2); }
inline void wr32(uint8_t* b, int64_t o, uint32_t v) { const uint32_t x = __builtin_bswap32(v); std::memcpy(b + o, &x, 4); }

// onesSum: unfolded one's-complement sum (odd length padded with a zero byte).
inline uint64_t onesSum(const uint8_t* b, int64_t off, int64_t len, uint64_t initial = 0) {
  uint64_t s = initial;
  const int64_t end = off + (len & ~int64_t(1));
  for (int64_t i = off; i < end; i += 2) s += (uint32_t(b[i]) << 8) | b[i + 1];
  if (len & 1) s += uint32_t(b[off + len - 1]) << 8;
  return s;
}
inline uint32_t foldSum(uint64_t s) {
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  return uint32_t(s);
}
inline uint32_t finishChecksum(uint64_t s) { return ~foldSum(s) & 0xffff; }
inline uint32_t ipv4HeaderChecksum(const uint8_t* b, int64_t off, int64_t ihl) {
  return finishChecksum(onesSum(b, off, ihl) - rd16(b, off + 10));
}
inline uint64_t pseudoSum4(const uint8_t* b, int64_t src, int64_t dst, uint32_t proto, uint32_t l4Len) {
  return onesSum(b, src, 4) + onesSum(b, dst, 4) + proto + (l4Len & 0xffff) + (l4Len >> 16);
}
inline uint32_t csumUpdate16(uint32_t hc, uint32_t oldWord, uint32_t newWord) {
  return finishChecksum(uint64_t(~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff));
}

// src/util/hash.ts: murmur3's finalizer over seeded words (Math.imul = wrapping 32-bit multiply).
inline uint32_t mix32(uint32_t h) {
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
  return h;
}
inline uint32_t hash3(uint32_t a, uint32_t b, uint32_t c, uint32_t seed) {
  uint32_t h = mix32(seed ^ 0x9e3779b9u);
  h = mix32(h ^ a);
  h = mix32((h * 31u) ^ b);
  h = mix32((h * 31u) ^ c);
  return h;
}

}  // namespace dpemu
