#include "dispatch.h"

#include <cstring>
#include <ctime>

#include "prefetch.h"
#include "stages.h"

namespace dpemu {
namespace {

inline double nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// A FIFO position modulo the pool size, as the engine's `% size`, without a division in the
// common case (positions restart at 0 whenever a queue empties, so they rarely pass the size).
inline int32_t wrap(int32_t pos, int32_t size) { return pos < size ? pos : pos % size; }

inline void push(EngineView& e, int32_t q, int32_t slot) {
  const int32_t size = e.pool->size;
  e.queues[int64_t(q) * size + wrap(e.tails[q], size)] = slot;
  e.tails[q]++;
  e.pending[0]++;
}

// runStage's results: a simple twin's packets left, an ordered twin's stop index (-1: it took all
// and deferred none; walkDeferring's deferred packets also make the call partial, call[5] of them).
inline int32_t leftResult(int32_t left) { return left == 0 ? -1 : left; }
inline int32_t orderedResult(EngineView& e, const CtCall& cc, int32_t stop, int32_t n, int32_t* runEnd) {
  *runEnd = cc.runEnd;
  e.call[5] = cc.deferred;
  return stop >= n && cc.deferred == 0 ? -1 : stop;
}

// Runs the native twin on the vector. Returns -1 when it took every packet, else the value the
// TypeScript finish needs (packets left, or the index it stopped at; runEnd in *runEnd).
int32_t runStage(EngineView& e, uint8_t kind, int32_t node, const Call& c, double now, int32_t* runEnd) {
  const PoolView& p = *e.pool;
  const NodeView& nv = *e.nodeViews[node];
  switch (kind) {
    case kStageEthernetInput: return leftResult(ethernetInput(p, nv, c));
    case kStageIp4Input: return leftResult(ip4Input(p, c));
    case kStageIp4Forward: return leftResult(ip4Forward(p, nv, c));
    case kStageNf4Forward: {
      if (e.filters.size() != size_t(e.nodes)) return kNothingDone;
      return leftResult(nf4ForwardFiltered(p, *e.cts[node], *e.filters[node], c));
    }
    case kStageVxlan4Decap: {
      const int32_t left = vxlan4Decap(p, nv, c);
      // The TS stage's rt.observe(s, vxlanDev, 0) for a decapsulated packet: with no observers, the device move.
      for (int32_t i = 0; i < c.n; i++) if (c.handBack[i] == 0 && p.next[c.slots[i]] == 0) p.device[c.slots[i]] = nv.vxlanDev;
      return leftResult(left);
    }
    case kStageVxlan4Encap: {
      // All or nothing: the outer IPv4 ID is taken in packet order.
      if (vxlan4EncapCheck(p, c) < 0) return kNothingDone;
      uint32_t id = uint32_t(e.ipId[node]) & 0xffff;
      vxlan4Encap(p, nv, c, &id);
      e.ipId[node] = int32_t(id);
      return -1;
    }
    case kStageNf4Prerouting: {
      CtCall cc{now, 0, 0, 0};
      const int32_t stop = nf4PreroutingEstablished(p, *e.cts[node], c, &cc, 0);
      e.found[node] += cc.found;
      return orderedResult(e, cc, stop, c.n, runEnd);
    }
    case kStageNf4Postrouting: {
      CtCall cc{now, 0, 0, 0};
      const int32_t stop = nf4PostroutingEstablished(p, *e.cts[node], c, &cc, 0);
      return orderedResult(e, cc, stop, c.n, runEnd);
    }
    case kStageNf4Input: {
      if (e.filters.size() != size_t(e.nodes)) return kNothingDone;
      CtCall cc{now, 0, 0, 0};
      const int32_t stop = nf4InputTracked(p, *e.cts[node], *e.filters[node], c, &cc, 0);
      return orderedResult(e, cc, stop, c.n, runEnd);
    }
    case kStageNf4Output: {
      if (e.filters.size() != size_t(e.nodes)) return kNothingDone;
      CtCall cc{now, 0, 0, 0};
      const int32_t stop = nf4OutputTracked(p, *e.cts[node], *e.filters[node], c, &cc, 0);
      e.found[node] += cc.found;
      return orderedResult(e, cc, stop, c.n, runEnd);
    }
    case kStageIp4Lookup: return leftResult(ip4Lookup(p, *e.ip4[node], c));
    case kStageIp4Output: return leftResult(ip4Output(p, nv, *e.ip4[node], c));
    case kStageIp4Local: return leftResult(ip4Local(p, *e.ip4[node], c));
    case kStageIp4Defrag: {
      // The stage first expires reassembly queues (TypeScript): only with none queued is there nothing to expire.
      if (!e.reassemblyEmpty[node]) return kNothingDone;
      return leftResult(ip4Defrag(p, c, true));
    }
    case kStageNodeport4: return leftResult(nodeport4(p, *e.ip4[node], c));
    case kStageIpvs4In: {
      // With IPVS, its tables come with engineIpvs (null: every TCP/UDP packet is left).
      IpvsView* v = e.ipvs.size() == size_t(e.nodes) ? e.ipvs[node] : nullptr;
      CtCall cc{now, 0, c.n, 0};
      return orderedResult(e, cc, ipvs4In(p, *e.ip4[node], v, c, now, 0, &cc.runEnd), c.n, runEnd);
    }
    case kStageSock4Connect: {
      // With eBPF, the socket-LB maps come with engineEbpf (null: every TCP/UDP packet is left).
      BpfSockView* sock = e.sock.size() == size_t(e.nodes) ? e.sock[node] : nullptr;
      CtCall cc{now, 0, c.n, 0};
      return orderedResult(e, cc, sock4Connect(p, *e.ip4[node], sock, c, 0, &cc.runEnd), c.n, runEnd);
    }
    case kStageFrameInput: return leftResult(frameInput(p, *e.devices, c));
    case kStageVethXmit: return leftResult(vethXmit(p, *e.devices, c));
    case kStageUnderlayXmit: return leftResult(underlayXmit(p, *e.devices, c, nv.nic));
    case kStagePolicy4Egress:
    case kStagePolicy4Ingress: {
      const uint8_t f = e.policyFlags[node];
      if (!(f & 1)) return kNothingDone;
      BpfCtView* ebpf = nullptr;
      if (f & 4) {
        // eBPF state: its conntrack maps come with engineEbpf; without them the wrapper runs the call.
        if (e.ebpf.size() != size_t(e.nodes) || e.ebpf[node] == nullptr) return kNothingDone;
        ebpf = e.ebpf[node];
      }
      CtCall cc{now, 0, c.n, 0};
      const int32_t stop = policy4Established(p, *e.devices, c, 0, kind == kStagePolicy4Egress, (f & 2) != 0, e.open, e.openLen, ebpf, now, &cc.runEnd, &cc.deferred);
      return orderedResult(e, cc, stop, c.n, runEnd);
    }
    default:
      return kNothingDone;
  }
}

// May the dispatcher make the call at queue qb next without the native twin needing JavaScript's tables?
inline bool nativeCall(const EngineView& e, int32_t q) {
  const uint8_t kind = e.kind[q];
  if (kind == kStageJs) return false;
  return kind < kStageIp4Lookup || (e.ip4.size() == size_t(e.nodes) && e.reassemblyEmpty != nullptr && e.devices != nullptr);
}

// Carries the call's vector to the next call when the engine would queue every packet at one empty
// queue that is then the first non-empty one: resets each packet's next as the engine's pop does and
// returns that queue; else -1 with the packets untouched.
inline int32_t carry(EngineView& e, const int32_t* nextIds, int32_t n) {
  const PoolView& p = *e.pool;
  const int16_t nx = p.next[e.vector[0]];
  const int16_t pn = p.node[e.vector[0]];
  if (nx < 0 || nx >= kMaxNext || nextIds[nx] < 0 || pn < 0 || pn >= e.nodes) return -1;
  const int32_t qb = nextIds[nx] * e.nodes + pn;
  if (e.heads[qb] != e.tails[qb] || !nativeCall(e, qb)) return -1;
  for (int32_t q = 0; q < qb; q++) if (e.heads[q] != e.tails[q]) return -1;
  // One pass: check and reset; on a packet going elsewhere, put back the next the ones before it had.
  for (int32_t i = 0; i < n; i++) {
    const int32_t s = e.vector[i];
    if (p.next[s] != nx || p.node[s] != pn) {
      for (int32_t k = 0; k < i; k++) p.next[e.vector[k]] = nx;
      return -1;
    }
    p.next[s] = -1;
  }
  return qb;
}

// After a call of stage `sid` over the vector's n packets: the vector carried straight to the next
// call (returns its queue), or each packet queued at its next stage, ended natively (free stack) or
// left for JavaScript to end (deferred); -1 then.
int32_t moveOn(EngineView& e, int32_t sid, int32_t n) {
  const PoolView& p = *e.pool;
  const int32_t nodes = e.nodes;
  const int32_t* nextIds = e.nextIds + int64_t(sid) * kMaxNext;
  const int32_t carried = carry(e, nextIds, n);
  if (carried >= 0) {
    if (e.call[4] < INT32_MAX) e.call[4]++;  // a statistic: saturates
    return carried;
  }
  for (int32_t i = 0; i < n; i++) {
    const int32_t slot = e.vector[i];
    const int16_t nx = p.next[slot];
    const int16_t pn = p.node[slot];
    if (nx >= 0 && nx < kMaxNext && nextIds[nx] >= 0 && pn >= 0 && pn < nodes) {
      push(e, nextIds[nx] * nodes + pn, slot);
    } else if (nx >= 0 || e.deferredCount[0] > 0 || (nx == kNextDrop && e.settings[1]) || (nx == kNextDone && e.settings[0]) ||
               (nx != kNextDrop && nx != kNextDone) || p.ownBuf[slot]) {
      // JavaScript ends it (observers, the drop hook, a private buffer, a next outside the stage's
      // list or a node outside the cluster: an error there); once one is
      // deferred, all later ones are too, so the free stack keeps the engine's order.
      const int32_t k = e.deferredCount[0]++;
      e.deferred[2 * k] = slot;
      e.deferred[2 * k + 1] = sid;
    } else {
      e.freeList[e.freeTop[0]++] = slot;
    }
  }
  return -1;
}

}  // namespace

int32_t engineRun(EngineView& e) {
  const PoolView& p = *e.pool;
  const int32_t nodes = e.nodes;
  const int32_t total = e.stages * nodes;
  const int32_t size = p.size;
  // A vector handed straight to the next call: the engine would queue every packet of the call at one
  // empty queue that is then the first non-empty one, and pop the same packets, in the same order, as
  // its next vector. Skipping the queue changes nothing but the work.
  int32_t carried = -1;
  int32_t n = 0;
  if (e.call[6] != 0) {
    // A partial call JavaScript has just finished (engine.ts): count it and move its packets on, as
    // after a native call; its time and native packets were counted by JavaScript.
    e.call[6] = 0;
    const int32_t q = e.call[0];
    n = e.call[1];
    if (q < 0 || q >= total || n <= 0 || n > e.vectorSize) return kRunYield;  // not a call this loop made
    double* rec = e.counters + int64_t(q) * e.counterWords;
    rec[0] += 1;
    rec[1] += n;
    carried = moveOn(e, q / nodes, n);
  }
  while (carried >= 0 || e.pending[0] > 0) {
    int32_t q = carried;
    if (q < 0) {
      q = 0;
      while (q < total && e.heads[q] == e.tails[q]) q++;
      if (q == total) return kRunYield;  // pending disagrees with the queues: the engine's loop decides
      if (!nativeCall(e, q)) return kRunYield;
      const int64_t base = int64_t(q) * size;
      n = 0;
      while (n < e.vectorSize && e.heads[q] != e.tails[q]) {
        const int32_t slot = e.queues[base + wrap(e.heads[q], size)];
        e.heads[q]++;
        p.next[slot] = -1;
        e.vector[n++] = slot;
      }
      if (e.heads[q] == e.tails[q]) e.heads[q] = e.tails[q] = 0;
      e.pending[0] -= n;
      // The stage reads every packet's headers: start the loads for the whole vector (cold after
      // the previous stage's sweep over up to 256 slots, each in its own pages).
      for (int32_t i = 0; i < n; i++) {
        const int32_t s = e.vector[i];
        if (!p.ownBuf[s]) prefetchLine(p.slot(s) + p.start[s]);
      }
    }
    carried = -1;
    const uint8_t kind = e.kind[q];
    const int32_t sid = q / nodes;
    const int32_t node = q - sid * nodes;
    double* rec = e.counters + int64_t(q) * e.counterWords;
    const Call c{e.vector, n, rec + kCounterHead, e.counterWords - kCounterHead, e.hand};
    const int32_t v0 = e.vector[0];
    const double now = p.tsSec[v0] + double(p.tsNsec[v0]) / 1e9;
    const double t0 = nowNs();
    int32_t runEnd = n;
    e.call[5] = 0;
    const int32_t r = runStage(e, kind, node, c, now, &runEnd);
    if (r >= 0) {
      // The engine finishes the call (the TS part, its time) and hands it back for counting and
      // moving on (call[6]): the native part's time is the stage's too.
      rec[2] += nowNs() - t0;
      e.call[0] = q;
      e.call[1] = n;
      e.call[2] = r;
      e.call[3] = runEnd;
      return kRunPartial;
    }
    rec[0] += 1;
    rec[1] += n;
    rec[2] += nowNs() - t0;
    rec[3] += n;
    carried = moveOn(e, sid, n);
  }
  return kRunIdle;
}

int32_t engineInject(EngineView& e, const InjectBatch& b) {
  const PoolView& p = *e.pool;
  const int32_t q = b.stage * e.nodes + b.node;
  for (int32_t i = 0; i < b.count; i++) {
    const int32_t caplen = b.caplen[i];
    if (e.freeTop[0] == 0 || caplen < 0 || int64_t(b.headroom) + caplen > p.slotBytes) return i;
    const int32_t s = e.freeList[--e.freeTop[0]];
    // PacketPool.alloc's reset, then load's copy, then inject.
    p.start[s] = b.headroom;
    p.node[s] = -1;
    p.ingress[s] = -1;
    p.drop[s] = 0;
    p.verdict[s] = 0;
    p.mark[s] = 0;
    p.flags[s] = 0;
    p.l3[s] = -1;
    p.l4[s] = -1;
    p.ct[s] = -1;
    p.ctinfo[s] = 255;
    p.aux0[s] = 0;
    p.aux1[s] = 0;
    p.aux2[s] = 0;
    std::memcpy(p.slot(s) + b.headroom, b.buf + b.offset[i], size_t(caplen));
    p.len[s] = caplen;
    p.wireLen[s] = b.wireLen[i];
    p.tsSec[s] = b.tsSec[i];
    p.tsNsec[s] = b.tsNsec[i];
    p.frameNo[s] = b.frameNo + i;
    p.device[s] = b.device;
    p.node[s] = int16_t(b.node);
    p.next[s] = -1;
    push(e, q, s);
  }
  return b.count;
}

}  // namespace dpemu
