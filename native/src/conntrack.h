// Native netfilter hooks for packets of existing connections, over the node's nf_conntrack table in
// its typed-array memory (src/conntrack/table.ts: layout at the top of that file). Same hash, same
// chains, same per-packet state update as ConntrackTable.track()/update() for a confirmed entry;
// anything that would allocate, free, count an INVALID, reopen, or walk a rule is left (handBack)
// to the TypeScript stage before a byte is changed, so the TS stage sees the packet untouched.
#pragma once
#include <cstdint>
#include "nffilter.h"
#include "pool.h"

namespace dpemu {

struct CtView {
  uint32_t* tSrc = nullptr;
  uint32_t* tDst = nullptr;
  uint16_t* tSport = nullptr;
  uint16_t* tDport = nullptr;
  int32_t* tNext = nullptr;
  uint8_t* proto = nullptr;
  uint8_t* slot = nullptr;
  uint8_t* tcpState = nullptr;
  uint8_t* lastIndex = nullptr;
  uint8_t* lastDir = nullptr;
  uint8_t* retrans = nullptr;
  uint8_t* lastFlags = nullptr;
  uint8_t* lastWscale = nullptr;
  uint8_t* tcpFlags = nullptr;
  uint8_t* tdScale = nullptr;
  uint16_t* zone = nullptr;
  uint16_t* lastWin = nullptr;
  uint32_t* status = nullptr;
  uint32_t* tdEnd = nullptr;
  uint32_t* tdMaxEnd = nullptr;
  uint32_t* tdMaxWin = nullptr;
  uint32_t* tdMaxAck = nullptr;
  uint32_t* lastSeq = nullptr;
  uint32_t* lastAck = nullptr;
  uint32_t* lastEnd = nullptr;
  double* deadline = nullptr;
  double* streamTs = nullptr;
  int32_t* buckets = nullptr;
  int32_t max = 0;
  uint32_t mask = 0;
  uint32_t seed = 0;
  double tcpTimeouts[14] = {};
  double udpTimeout = 0, udpStreamTimeout = 0;
  uint8_t transitions[120] = {};  // tcp-state.ts TCP_CONNTRACKS [dir][index][state]
  uint8_t validFlags[256] = {};   // tcpFlagsValid(f) for every flag byte
  const int32_t* count = nullptr; // ConntrackTable.count (live entries, confirmed or not), shared memory
  // Deferring is exact only while the TS stage cannot fill the table: room for one new entry per packet.
  bool roomFor(int32_t packets) const { return count != nullptr && int64_t(*count) + packets <= int64_t(max); }
};

// src/dataplane/nat.ts natRewrite for TCP/UDP (ICMP is never rewritten natively): the source (which 0)
// or destination (1) address and port, with RFC 1624 incremental IPv4 and L4 checksums.
void natRewrite(const PoolView& p, int32_t s, int which, uint32_t addr, uint32_t port);

// Per call: the packet time and the `found` lookups to add to ConntrackStats (a JS object).
struct CtCall {
  double now;
  int32_t found;
  int32_t runEnd;    // when stopped at i: the end of the run of packets from i that all need TS
  int32_t deferred;  // packets before the stop left for TS (handBack 1): see walkDeferring
};

// The four conntrack hooks run the vector from index `from` with walkDeferring (pool.h): a TCP/UDP
// packet the native stage does not take is deferred to the TS stage (handBack 1, cc->deferred) with
// every later packet of its entry, while the table has room for a new entry per packet; any other
// packet it does not take stops the walk. They return the stop index (c.n when done) and the end
// of the run of packets from there that need TS as the table stands (cc->runEnd): the wrapper runs
// the TS stage on the deferred packets and that run, in vector order, and resumes here, so every
// entry sees its packets in vector order.
int32_t nf4PreroutingEstablished(const PoolView& p, CtView& ct, const Call& c, CtCall* cc, int32_t from);
int32_t nf4PostroutingEstablished(const PoolView& p, CtView& ct, const Call& c, CtCall* cc, int32_t from);
// nf4-forward (simple form): the filter FORWARD walk over the compiled program (nffilter.h) for any packet.
int32_t nf4ForwardFiltered(const PoolView& p, const CtView& ct, const FilterView& f, const Call& c);

// nf4-output (ordered form, as above): TCP/UDP packets of confirmed, live entries (ESTABLISHED, or NEW
// once the nat binding is done: the outer VXLAN flows, which never see a reply), their NAT when it
// keeps the destination address, and the filter OUTPUT walk (nffilter.h) ending in ACCEPT.
int32_t nf4OutputTracked(const PoolView& p, CtView& ct, const FilterView& f, const Call& c, CtCall* cc, int32_t from);
// nf4-input (ordered form): any packet whose filter INPUT walk ACCEPTs, untracked or of a confirmed
// entry, then the entry's source un-NAT (TCP/UDP or none); confirm() is a no-op for them.
int32_t nf4InputTracked(const PoolView& p, CtView& ct, const FilterView& f, const Call& c, CtCall* cc, int32_t from);

}  // namespace dpemu
