// Native twins of the overlay fast-path stages (src/stages/*.ts), one call per vector.
// Each writes pool.next / pool.drop / pool.verdict and the drop counters exactly as the TS stage
// does for the packets it handles, and marks the packets it leaves (call.handBack[i] = 1) for the
// TS stage to run in the same dispatch. Returns the number of packets left.
#pragma once
#include "pool.h"

namespace dpemu {

int32_t ethernetInput(const PoolView& p, const NodeView& node, const Call& c);
int32_t ip4Input(const PoolView& p, const Call& c);
int32_t ip4Forward(const PoolView& p, const NodeView& node, const Call& c);
// vxlan4-encap changes a per-node counter (outer IPv4 ID) in packet order, so it is all or nothing:
// returns -1 without touching any packet if one of them needs the TS stage, else 0. ipId in/out.
int32_t vxlan4EncapCheck(const PoolView& p, const Call& c);
int32_t vxlan4Encap(const PoolView& p, const NodeView& node, const Call& c, uint32_t* ipId);
int32_t vxlan4Decap(const PoolView& p, const NodeView& node, const Call& c);

}  // namespace dpemu
