// Native twins of the overlay fast-path stages (src/stages/*.ts), one call per vector.
// Each writes pool.next / pool.drop / pool.verdict and the drop counters exactly as the TS stage
// does for the packets it handles, and marks the packets it leaves (call.handBack[i] = 1) for the
// TS stage to run in the same dispatch. Returns the number of packets left.
#pragma once
#include <cstdint>
#include "pool.h"
#include "prefetch.h"

namespace dpemu {

// The dispatcher runs a stage over a vector of slots 16 KiB apart after other stages (and JavaScript)
// ran over the whole batch: a packet's lines are often cold and their first touch was most of a
// stage's time (perf on pipeline-bench). The stages prefetch the lines they touch kPacketAhead packets ahead.
// Prefetch (a hint: no fault, no effect on results) of bytes [from, to) of slot t, at most 4 lines.
// (Lines about to be written are prefetched the same way: without -mprfchw GCC emits prefetcht0 for both.)
inline void prefetchSlot(const PoolView& p, int32_t t, int64_t from, int64_t to) {
  if (to - from > 256) to = from + 256;
  const uint8_t* base = p.slot(t);
  uintptr_t a = reinterpret_cast<uintptr_t>(base + from) & ~uintptr_t(63);
  for (const uintptr_t e = reinterpret_cast<uintptr_t>(base + to); a < e; a += 64) prefetchLine(reinterpret_cast<const void*>(a));
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
