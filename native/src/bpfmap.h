// BPF_MAP_TYPE_HASH / LRU_HASH over the TypeScript map's own ArrayBuffer (src/maps/hash-map.ts; layout
// in docs/maps.md "Hash maps"): the same bucket hash (the kernel's htab_map_hash, src/maps/jhash.ts), the
// same chain walk, the same stats counters in the buffer and, for LRU maps, the same move-to-front on a
// hit. `peek` finds without counting or touching, so a caller can decide to leave a packet to the
// TypeScript stage before anything changed.
#pragma once
#include <cstdint>
#include <cstring>

namespace dpemu {

namespace bpf {
constexpr uint32_t kMagic = 0x4d504544, kVersion = 1, kKindHash = 2, kKindLruHash = 3;
constexpr uint32_t kDataOffset = 128;  // header 64 + stats 64
// Header words (map-common.ts H_*, hash-map.ts H_*).
constexpr uint32_t H_MAGIC = 0, H_VERSION = 1, H_KIND = 2, H_KEY = 3, H_VALUE = 4, H_MAX = 5, H_COUNT = 6, H_SEED = 7;
constexpr uint32_t H_NBUCKETS = 8, H_LRU_HEAD = 10, H_LRU_TAIL = 11;
// Stats: u64 counters as (lo, hi) words from word 16.
constexpr uint32_t ST_LOOKUPS = 16, ST_HITS = 18, ST_MISSES = 20;
constexpr uint32_t E_NEXT = 0, E_PREV = 1, E_LNEXT = 2, E_HASH = 3, kEntryHdr = 16;

inline uint32_t rol32(uint32_t w, int s) { return (w << s) | (w >> (32 - s)); }
inline uint32_t le32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }  // little-endian host
inline void mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c; a ^= rol32(c, 4); c += b;
  b -= a; b ^= rol32(a, 6); a += c;
  c -= b; c ^= rol32(b, 8); b += a;
  a -= c; a ^= rol32(c, 16); c += b;
  b -= a; b ^= rol32(a, 19); a += c;
  c -= b; c ^= rol32(b, 4); b += a;
}
inline uint32_t final(uint32_t a, uint32_t b, uint32_t c) {
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
  return c;
}
// include/linux/jhash.h jhash(): bytes, the tail added byte by byte as the kernel's fall-through switch.
inline uint32_t jhash(const uint8_t* k, uint32_t length, uint32_t initval) {
  uint32_t a = 0xdeadbeefu + length + initval, b = a, c = a;
  while (length > 12) {
    a += le32(k); b += le32(k + 4); c += le32(k + 8);
    mix(a, b, c);
    length -= 12;
    k += 12;
  }
  switch (length) {
    case 12: c += uint32_t(k[11]) << 24; [[fallthrough]];
    case 11: c += uint32_t(k[10]) << 16; [[fallthrough]];
    case 10: c += uint32_t(k[9]) << 8; [[fallthrough]];
    case 9: c += k[8]; [[fallthrough]];
    case 8: b += uint32_t(k[7]) << 24; [[fallthrough]];
    case 7: b += uint32_t(k[6]) << 16; [[fallthrough]];
    case 6: b += uint32_t(k[5]) << 8; [[fallthrough]];
    case 5: b += k[4]; [[fallthrough]];
    case 4: a += uint32_t(k[3]) << 24; [[fallthrough]];
    case 3: a += uint32_t(k[2]) << 16; [[fallthrough]];
    case 2: a += uint32_t(k[1]) << 8; [[fallthrough]];
    case 1: a += k[0]; return final(a, b, c);
    default: return c;
  }
}
// jhash2(): 32-bit words read little-endian.
inline uint32_t jhash2(const uint8_t* k, uint32_t words, uint32_t initval) {
  uint32_t a = 0xdeadbeefu + (words << 2) + initval, b = a, c = a;
  while (words > 3) {
    a += le32(k); b += le32(k + 4); c += le32(k + 8);
    mix(a, b, c);
    words -= 3;
    k += 12;
  }
  switch (words) {
    case 3: c += le32(k + 8); [[fallthrough]];
    case 2: b += le32(k + 4); [[fallthrough]];
    case 1: a += le32(k); return final(a, b, c);
    default: return c;
  }
}
// htab_map_hash().
inline uint32_t htabHash(const uint8_t* k, uint32_t keySize, uint32_t seed) {
  return (keySize & 3) == 0 ? jhash2(k, keySize >> 2, seed) : jhash(k, keySize, seed);
}
}  // namespace bpf

struct BpfHashView {
  uint8_t* bytes = nullptr;
  uint32_t* u32 = nullptr;  // the buffer as words (4-aligned: an ArrayBuffer's start)
  bool lru = false;
  uint32_t keySize = 0, valueSize = 0, max = 0, mask = 0, seed = 0;
  uint32_t strideWords = 0, bucketsWord = 0, entriesWord = 0, valueOffset = 0;

  // Reads the header; false when the buffer is not a hash/LRU hash map of layout v1 that fits `len`.
  bool attach(uint8_t* b, uint64_t len) {
    if (len < bpf::kDataOffset || (reinterpret_cast<uintptr_t>(b) & 7) != 0) return false;
    uint32_t* w = reinterpret_cast<uint32_t*>(b);
    if (w[bpf::H_MAGIC] != bpf::kMagic || w[bpf::H_VERSION] != bpf::kVersion) return false;
    if (w[bpf::H_KIND] != bpf::kKindHash && w[bpf::H_KIND] != bpf::kKindLruHash) return false;
    const uint64_t nb = w[bpf::H_NBUCKETS];
    if (nb == 0 || (nb & (nb - 1)) != 0 || w[bpf::H_KEY] == 0 || w[bpf::H_MAX] == 0) return false;
    const uint64_t valueOff = bpf::kEntryHdr + ((uint64_t(w[bpf::H_KEY]) + 7) & ~uint64_t(7));
    const uint64_t stride = (valueOff + w[bpf::H_VALUE] + 7) & ~uint64_t(7);
    const uint64_t entries = (bpf::kDataOffset + nb * 4 + 7) & ~uint64_t(7);
    if (entries + uint64_t(w[bpf::H_MAX]) * stride > len) return false;
    bytes = b;
    u32 = w;
    lru = w[bpf::H_KIND] == bpf::kKindLruHash;
    keySize = w[bpf::H_KEY];
    valueSize = w[bpf::H_VALUE];
    max = w[bpf::H_MAX];
    mask = uint32_t(nb - 1);
    seed = w[bpf::H_SEED];
    strideWords = uint32_t(stride >> 2);
    bucketsWord = bpf::kDataOffset >> 2;
    entriesWord = uint32_t(entries >> 2);
    valueOffset = uint32_t(valueOff);
    return true;
  }

  int32_t i32(uint32_t word) const { return int32_t(u32[word]); }
  void setI32(uint32_t word, int32_t v) { u32[word] = uint32_t(v); }

  // HashMap.find: the entry holding `key` (keySize bytes), or -1. Reads only.
  int32_t find(const uint8_t* key, uint32_t hash) const {
    int32_t e = i32(bucketsWord + (hash & mask));
    while (e >= 0 && uint32_t(e) < max) {
      const uint32_t w = entriesWord + uint32_t(e) * strideWords;
      if (u32[w + bpf::E_HASH] == hash && std::memcmp(bytes + (uint64_t(w) << 2) + bpf::kEntryHdr, key, keySize) == 0) return e;
      e = i32(w + bpf::E_NEXT);
    }
    return -1;
  }
  int32_t peek(const uint8_t* key) const { return find(key, bpf::htabHash(key, keySize, seed)); }
  uint32_t hashOf(const uint8_t* key) const { return bpf::htabHash(key, keySize, seed); }
  // Prefetch hints for a lookup to come (loads only): the bucket head, or the chain's first entry and
  // its LRU neighbours (which a hit's move-to-front writes).
  const void* bucketLine(uint32_t hash) const { return u32 + bucketsWord + (hash & mask); }
  int32_t bucketHead(uint32_t hash) const { return i32(bucketsWord + (hash & mask)); }
  const void* entryLine(int32_t e) const { return u32 + entryWord(e); }
  int32_t lruPrev(int32_t e) const { return lru ? i32(entryWord(e) + bpf::E_PREV) : -1; }
  int32_t lruNext(int32_t e) const { return lru ? i32(entryWord(e) + bpf::E_LNEXT) : -1; }

  // HashMap.lookup: counts the lookup and its hit or miss, moves a hit to the LRU head; the byte offset
  // of the value, or -1.
  int64_t lookup(const uint8_t* key) {
    bump(bpf::ST_LOOKUPS);
    const int32_t e = peek(key);
    if (e < 0) {
      bump(bpf::ST_MISSES);
      return -1;
    }
    bump(bpf::ST_HITS);
    if (lru) touch(e);
    return valueAt(e);
  }
  // lookup() of a key a peek found as entry e, nothing having changed since: the same counts and touch,
  // without hashing and walking the chain again.
  int64_t hit(int32_t e) {
    bump(bpf::ST_LOOKUPS);
    bump(bpf::ST_HITS);
    if (lru) touch(e);
    return valueAt(e);
  }
  int64_t valueAt(int32_t e) const { return (int64_t(entriesWord) << 2) + int64_t(e) * (int64_t(strideWords) << 2) + valueOffset; }

 private:
  void bump(uint32_t i) {
    const uint32_t v = u32[i] + 1;
    u32[i] = v;
    if (v == 0) u32[i + 1] = u32[i + 1] + 1;
  }
  uint32_t entryWord(int32_t e) const { return entriesWord + uint32_t(e) * strideWords; }
  void touch(int32_t e) {
    if (i32(bpf::H_LRU_HEAD) == e) return;
    // unlinkLru
    const uint32_t w = entryWord(e);
    const int32_t prev = i32(w + bpf::E_PREV), next = i32(w + bpf::E_LNEXT);
    if (prev >= 0) setI32(entryWord(prev) + bpf::E_LNEXT, next);
    else setI32(bpf::H_LRU_HEAD, next);
    if (next >= 0) setI32(entryWord(next) + bpf::E_PREV, prev);
    else setI32(bpf::H_LRU_TAIL, prev);
    // pushHead
    const int32_t head = i32(bpf::H_LRU_HEAD);
    setI32(w + bpf::E_PREV, -1);
    setI32(w + bpf::E_LNEXT, head);
    if (head >= 0) setI32(entryWord(head) + bpf::E_PREV, e);
    else setI32(bpf::H_LRU_TAIL, e);
    setI32(bpf::H_LRU_HEAD, e);
  }
};

}  // namespace dpemu
