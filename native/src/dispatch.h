// The native dispatcher: the engine's run loop (src/engine/engine.ts) in C++, over the same typed
// arrays (queues, heads/tails, vector, next-stage table, counters, the pool's free stack). It
// makes every call whose stage has a native twin on that node and returns to JavaScript at the
// first call that needs TypeScript: before it (yield) or, when the native twin handed some
// packets back, in the middle of it (partial; the engine finishes the call with the TS stage).
// Same queue choice, same vectors, same order: the TS engine's result by construction.
#pragma once
#include <cstdint>
#include <vector>
#include "conntrack.h"
#include "edge.h"
#include "ip4.h"
#include "nffilter.h"
#include "pool.h"

namespace dpemu {

// Which native twin runs a (stage, node); 0: the call is JavaScript's.
enum StageKind : uint8_t {
  kStageJs = 0,
  kStageEthernetInput = 1,
  kStageIp4Input = 2,
  kStageIp4Forward = 3,
  kStageVxlan4Encap = 4,
  kStageVxlan4Decap = 5,
  kStageNf4Prerouting = 6,
  kStageNf4Postrouting = 7,
  kStageNf4Forward = 8,
  kStageNf4Input = 9,
  kStageIp4Lookup = 10,
  kStageIp4Output = 11,
  kStageIp4Local = 12,
  kStageIp4Defrag = 13,
  kStageNodeport4 = 14,
  kStageIpvs4In = 15,
  kStageSock4Connect = 16,
  kStageFrameInput = 17,
  kStageVethXmit = 18,
  kStageUnderlayXmit = 19,
  kStagePolicy4Egress = 20,
  kStagePolicy4Ingress = 21,
  kStageNf4Output = 22,
  kStageKinds = 23,
};

enum RunStatus : int32_t { kRunIdle = 0, kRunYield = 1, kRunPartial = 2 };

constexpr int32_t kMaxNext = 16;        // engine.ts MAX_NEXT
constexpr int32_t kCounterHead = 4;     // counters.ts: calls, packets, ns, nativePackets, then drops
constexpr int16_t kNextDone = -3;       // runtime.ts NEXT_DONE

struct EngineView {
  int32_t stages = 0, nodes = 0, vectorSize = 0;
  int32_t* queues = nullptr;
  int32_t* heads = nullptr;
  int32_t* tails = nullptr;
  int32_t* pending = nullptr;
  int32_t* vector = nullptr;
  const int32_t* nextIds = nullptr;
  double* counters = nullptr;
  int32_t counterWords = 0;
  const uint8_t* kind = nullptr;   // [stage * nodes + node]
  uint8_t* hand = nullptr;         // hand-back marks of the current call
  int32_t* freeList = nullptr;
  int32_t* freeTop = nullptr;
  // Finished packets whose end JavaScript must see (final observers, the drop hook, private buffers): [slot, stage] pairs.
  int32_t* deferred = nullptr;
  int32_t* deferredCount = nullptr;
  const uint8_t* settings = nullptr;  // [0]: defer delivered packets, [1]: defer dropped packets
  int32_t* call = nullptr;            // partial call: [queue, n, result, runEnd]; [4] vectors carried straight on; [5] packets deferred (walkDeferring); [6] 1: JS finished it, count and move it on
  double* found = nullptr;            // per node: conntrack lookups found, for ConntrackStats
  int32_t* ipId = nullptr;            // per node: the outer IPv4 ID counter
  const PoolView* pool = nullptr;
  std::vector<const NodeView*> nodeViews;
  std::vector<CtView*> cts;
  std::vector<const Ip4NodeView*> ip4;   // engineTables
  uint8_t* reassemblyEmpty = nullptr;   // per node: ip4-defrag's table holds no queue (no expiry due)
  const DeviceView* devices = nullptr;  // edge stages (engineTables)
  uint8_t* policyFlags = nullptr;       // per node: bit 0 policy4 may run natively, bit 1 a policy engine is on, bit 2 eBPF state
  const uint8_t* open = nullptr;        // per device: policy4's open bits
  int32_t openLen = 0;
  std::vector<const FilterView*> filters;  // engineFilters: per node, the compiled filter table
  std::vector<BpfCtView*> ebpf;            // engineEbpf: per node, its eBPF conntrack maps (ebpf mode) or null
  std::vector<BpfSockView*> sock;          // engineEbpf: per node, its socket-LB maps (ebpf mode) or null
  std::vector<IpvsView*> ipvs;             // engineIpvs: per node, its IPVS (ipvs mode) or null
};

// A runStage result: nothing was done, the wrapper's whole `process` runs (NOTHING_DONE in stages.ts).
constexpr int32_t kNothingDone = 0x7fffffff;

int32_t engineRun(EngineView& e);

// Frames of a capture in memory (one buffer, offsets): each copied into a fresh slot (PacketPool.alloc
// + load) and queued at `stage` on `node` (Dataplane.inject). Stops at a frame that needs a private
// buffer (too big for a slot) or when the pool is empty; returns how many frames were queued.
struct InjectBatch {
  const uint8_t* buf;
  const int32_t* offset;
  const int32_t* caplen;
  const int32_t* wireLen;
  const double* tsSec;
  const uint32_t* tsNsec;
  int32_t count;
  int32_t frameNo;  // of the first frame
  int32_t device;   // preset attach device, -1: frame-input attaches by sender
  int32_t node;
  int32_t stage;
  int32_t headroom;
};
int32_t engineInject(EngineView& e, const InjectBatch& b);

}  // namespace dpemu
