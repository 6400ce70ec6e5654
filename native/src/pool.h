// The packet pool as the addon sees it: raw pointers into the same typed arrays PacketPool owns
// (src/engine/pool.ts). The arrays are held by references for the pool's lifetime, so the
// pointers stay valid; nothing is copied per call.
#pragma once
#include <cstdint>
#include "layouts.h"

namespace dpemu {

constexpr int16_t kNextDrop = -2;  // runtime.ts NEXT_DROP
constexpr uint8_t kVerdictDropped = 2;
// pool.flags bits (pool.ts PacketFlag) the native stages read or write.
constexpr uint32_t kFlagLocalOut = 1u << 3;  // PacketFlag.LOCAL_OUT
constexpr uint32_t kFlagLoopback = 1u << 4;  // PacketFlag.LOOPBACK
constexpr uint32_t kFlagNotEthernet = 1u << 5;  // PacketFlag.NOT_ETHERNET: frame-input's TS stage drops it

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

inline void noWarm(int32_t) {}

// What a deferring walk's check says of a packet (below).
enum Verdict : uint8_t { kTake = 0, kDefer = 1, kBarrier = 2 };

// The entries the deferred packets of one walk belong to: a small open-addressing set on the stack
// (a walk defers at most a vector's packets). Past kCap entries it overflows and says yes to every
// question: deferring more packets than needed keeps the order exact.
class DeferredEntries {
 public:
  bool has(int32_t e) const {
    if (overflow_) return true;
    if (count_ == 0 || e < 0) return false;
    for (uint32_t h = slot(e);; h = (h + 1) & kMask) {
      if (key_[h] == e) return true;
      if (key_[h] == kEmpty) return false;
    }
  }
  void add(int32_t e) {
    if (e < 0 || overflow_) return;
    if (count_ == 0) for (int32_t& k : key_) k = kEmpty;
    uint32_t h = slot(e);
    while (key_[h] != kEmpty) {
      if (key_[h] == e) return;
      h = (h + 1) & kMask;
    }
    if (++count_ > kCap) {
      overflow_ = true;
      return;
    }
    key_[h] = e;
  }

 private:
  static constexpr int32_t kSlots = 512, kCap = kSlots / 2, kEmpty = -1;
  static constexpr uint32_t kMask = kSlots - 1;
  static uint32_t slot(int32_t e) { return (uint32_t(e) * 0x9e3779b1u) >> 23; }
  int32_t key_[kSlots];
  int32_t count_ = 0;
  bool overflow_ = false;
};

// The deferring form of the ordered walk, for the conntrack hooks and policy4. check(s, &entry) says
// whether the native stage takes packet s and which conntrack entry the packet belongs to (-1: none
// found). With `defer`, a packet the native stage does not take is deferred (handBack 1) and the walk
// goes on, and so is every later packet of an entry a deferred packet belongs to: each entry still
// sees its packets in vector order, native or TS. A barrier, or any packet not taken when `defer` is
// off, stops the walk (walkOrdered below: its index is returned, *runEnd ends the run of packets from
// there that are not taken either). Once a packet is deferred, handBack holds 0 or 1 for every
// index walked, [from, stop); *deferred counts the 1s (with none, handBack is not written). The
// TypeScript stage then runs the deferred packets and the stopped run [stop, *runEnd) in vector
// order, before the native stage resumes at *runEnd.
//
// Exact when the TypeScript stage, for a deferred packet, writes only that packet, its own entry or
// a new entry and reads no other entry's state that the native stage writes. The callers keep it so:
// `defer` is off while early drop could evict a live entry (no room for one new entry per packet),
// and at POSTROUTING/INPUT a packet of an expired entry, which a deferred confirm may free, is
// deferred as well (docs/native.md, "Deferring").
template <typename Before, typename Check, typename Apply>
inline int32_t walkDeferring(const Call& c, int32_t from, bool defer, int32_t* runEnd, int32_t* deferred, Before before, Check check, Apply apply) {
  DeferredEntries marks;
  int32_t held = 0;
  for (int32_t i = from; i < c.n; i++) {
    before(i);
    const int32_t s = c.slots[i];
    int32_t entry = -1;
    Verdict v = Verdict(check(s, &entry));
    if (v == kTake && held > 0 && marks.has(entry)) v = kDefer;
    if (v == kTake) {
      if (held > 0) c.handBack[i] = 0;
      apply(s);
      continue;
    }
    if (v == kDefer && defer) {
      // The first deferral writes the marks of the packets taken before it (none were written yet).
      if (held == 0) for (int32_t k = from; k < i; k++) c.handBack[k] = 0;
      c.handBack[i] = 1;
      held++;
      marks.add(entry);
      continue;
    }
    int32_t j = i + 1;
    int32_t unused = -1;
    while (j < c.n && check(c.slots[j], &unused) != kTake) j++;
    *runEnd = j;
    *deferred = held;
    return i;
  }
  *runEnd = c.n;
  *deferred = held;
  return c.n;
}

// The ordered form's walk over a vector from `from`: before(i) (warm-up hints), then take(s) decides
// whether the native stage takes packet s (reading only; it may keep its decision for apply), and
// apply(s) carries it out. The first packet not taken stops the walk: its index is returned, and
// *runEnd is the end of the run of packets from there that are not taken either as the tables stand,
// which the TypeScript stage runs before the native stage resumes (exact: TS is the reference; only
// a native decision must wait for the packets before it). c.n and *runEnd = c.n when all are taken.
// walkDeferring without deferring.
template <typename Before, typename Take, typename Apply>
inline int32_t walkOrdered(const Call& c, int32_t from, int32_t* runEnd, Before before, Take take, Apply apply) {
  int32_t deferred = 0;
  return walkDeferring(c, from, false, runEnd, &deferred, before, [&](int32_t s, int32_t*) { return take(s) ? kTake : kBarrier; }, apply);
}

}  // namespace dpemu
