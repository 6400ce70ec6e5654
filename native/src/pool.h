// The packet pool as the addon sees it: raw pointers into the same typed arrays PacketPool owns
// (src/engine/pool.ts). The arrays are held by references for the pool's lifetime, so the
// pointers stay valid; nothing is copied per call.
#pragma once
#include <cstdint>
#include "layouts.h"

namespace dpemu {

constexpr int16_t kNextDrop = -2;  // runtime.ts NEXT_DROP
constexpr uint8_t kVerdictDropped = 2;

struct PoolView {
  uint8_t* bytes = nullptr;  // the one backing ArrayBuffer: slot s at s * slotBytes
  int64_t slotBytes = 0;
  int32_t size = 0;
  int32_t* start = nullptr;
  int32_t* len = nullptr;
  int32_t* wireLen = nullptr;
  int32_t* device = nullptr;
  int16_t* next = nullptr;
  uint16_t* drop = nullptr;
  uint8_t* verdict = nullptr;
  int32_t* l3 = nullptr;
  int32_t* l4 = nullptr;
  int32_t* aux0 = nullptr;
  int32_t* aux1 = nullptr;
  int32_t* aux2 = nullptr;
  uint8_t* ownBuf = nullptr;  // 1: the slot's frame lives in a private buffer (TS only)
  int32_t* ct = nullptr;      // conntrack node id (entry * 2 + dir), -1 untracked
  uint8_t* ctinfo = nullptr;  // IP_CT_*, 255 untracked
  double* tsSec = nullptr;    // packet time, seconds
  uint32_t* tsNsec = nullptr;
  int16_t* node = nullptr;    // cluster node the packet is on
  int32_t* ingress = nullptr; // device the packet entered at
  uint32_t* mark = nullptr;   // skb mark
  uint32_t* flags = nullptr;  // PacketFlag bits
  int32_t* frameNo = nullptr;
  uint8_t* slot(int32_t s) const { return bytes + int64_t(s) * slotBytes; }
};

// What one cluster node's stages read: the device table, FDB and tunnel settings (node-context.ts).
struct NodeView {
  const native_device_v1* devices = nullptr;
  int32_t deviceCount = 0;
  const native_fdb_entry_v1* fdb = nullptr;
  int32_t fdbCount = 0;
  int32_t nic = -1;
  int32_t vxlanDev = -1;
  uint32_t nodeIp = 0;
  uint32_t vni = 0;
  uint32_t port = 0;
  bool udpCsum = false;
  uint32_t hashSeed = 0;
};

// Per-call arguments shared by every stage entry point.
struct Call {
  const int32_t* slots;
  int32_t n;
  double* drops;      // StageCounters.drops of the (stage, node)
  int32_t dropsLen;
  uint8_t* handBack;  // per vector index: 1 = left for the TypeScript stage
};

// The ordered form's walk over a vector from `from`: before(i) (warm-up hints), then take(s) decides
// whether the native stage takes packet s (reading only; it may keep its decision for apply), and
// apply(s) carries it out. The first packet not taken stops the walk: its index is returned, and
// *runEnd is the end of the run of packets from there that are not taken either as the tables stand,
// which the TypeScript stage runs before the native stage resumes (exact: TS is the reference; only
// a native decision must wait for the packets before it). c.n and *runEnd = c.n when all are taken.
template <typename Before, typename Take, typename Apply>
inline int32_t walkOrdered(const Call& c, int32_t from, int32_t* runEnd, Before before, Take take, Apply apply) {
  for (int32_t i = from; i < c.n; i++) {
    before(i);
    const int32_t s = c.slots[i];
    if (!take(s)) {
      int32_t j = i + 1;
      while (j < c.n && !take(c.slots[j])) j++;
      *runEnd = j;
      return i;
    }
    apply(s);
  }
  *runEnd = c.n;
  return c.n;
}
inline void noWarm(int32_t) {}

}  // namespace dpemu
