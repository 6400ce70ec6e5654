// Native twins of the overlay fast-path stages (src/stages/*.ts), one call per vector.
// Each writes pool.next / pool.drop / pool.verdict and the drop counters exactly as the TS stage
// does for the packets it handles, and marks the packets it leaves (call.handBack[i] = 1) for the
// TS stage to run in the same dispatch. Returns the number of packets left.
#pragma once
#include <cstdint>
#include <cstring>
#include "pool.h"

namespace dpemu {

// Big-endian loads and stores (rd16/rd32/wr16/wr32 of wire.h, same results) as one unaligned access
// and a byte swap: the compiler keeps wire.h's byte-at-a-time forms as separate byte accesses.
inline uint32_t ld16(const uint8_t* b, int64_t o) { uint16_t v; std::memcpy(&v, b + o, 2); return __builtin_bswap16(v); }
inline uint32_t ld32(const uint8_t* b, int64_t o) { uint32_t v; std::memcpy(&v, b + o, 4); return __builtin_bswap32(v); }
inline void st16(uint8_t* b, int64_t o, uint32_t v) { const uint16_t x = __builtin_bswap16(uint16_t(v)); std::memcpy(b + o, &x, 2); }
inline void st32(uint8_t* b, int64_t o, uint32_t v) { const uint32_t x = __builtin_bswap32(v); std::memcpy(b + o, &x, 4); }
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ld16/ld32/st16/st32 swap little-endian words");

// The dispatcher runs a stage over a vector of slots 16 KiB apart after other stages (and JavaScript)
// ran over the whole batch: a packet's lines are often cold and their first touch was most of a
// stage's time (perf on pipeline-bench). The stages prefetch the lines they touch kPacketAhead packets ahead.
// Prefetch (a hint: no fault, no effect on results) of bytes [from, to) of slot t, at most 4 lines.
template <int Write>
inline void prefetchSlot(const PoolView& p, int32_t t, int64_t from, int64_t to) {
  if (to - from > 256) to = from + 256;
  const uint8_t* base = p.slot(t);
  uintptr_t a = reinterpret_cast<uintptr_t>(base + from) & ~uintptr_t(63);
  for (const uintptr_t e = reinterpret_cast<uintptr_t>(base + to); a < e; a += 64) __builtin_prefetch(reinterpret_cast<const void*>(a), Write, 3);
}
constexpr int32_t kPacketAhead = 4;

int32_t ethernetInput(const PoolView& p, const NodeView& node, const Call& c);
int32_t ip4Input(const PoolView& p, const Call& c);
int32_t ip4Forward(const PoolView& p, const NodeView& node, const Call& c);
// vxlan4-encap changes a per-node counter (outer IPv4 ID) in packet order, so it is all or nothing:
// returns -1 without touching any packet if one of them needs the TS stage, else 0. ipId in/out.
int32_t vxlan4EncapCheck(const PoolView& p, const Call& c);
int32_t vxlan4Encap(const PoolView& p, const NodeView& node, const Call& c, uint32_t* ipId);
int32_t vxlan4Decap(const PoolView& p, const NodeView& node, const Call& c);

}  // namespace dpemu
