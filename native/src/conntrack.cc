#include "conntrack.h"

#include "nffilter.h"
#include "prefetch.h"
#include "wire.h"

namespace dpemu {
namespace {

// src/conntrack/constants.ts
constexpr uint32_t IPS_EXPECTED = 1u << 0, IPS_SEEN_REPLY = 1u << 1, IPS_ASSURED = 1u << 2, IPS_CONFIRMED = 1u << 3;
constexpr uint32_t IPS_SRC_NAT = 1u << 4, IPS_DST_NAT = 1u << 5, IPS_FIXED_TIMEOUT = 1u << 10, IPS_NAT_CLASH = 1u << 12;
constexpr uint32_t IPS_SRC_NAT_DONE = 1u << 7, IPS_DST_NAT_DONE = 1u << 8;
constexpr uint32_t IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
constexpr uint8_t IP_CT_ESTABLISHED = 0, IP_CT_NEW = 2, IP_CT_ESTABLISHED_REPLY = 3;
constexpr uint8_t sSS = 1, sSR = 2, sES = 3, sFW = 4, sLA = 6, sTW = 7, sCL = 8, sS2 = 9, sMAX = 10, sIG = 11;
constexpr uint8_t kRetrans = 12, kUnack = 13;
constexpr uint32_t SYN_SET = 0, SYNACK_SET = 1, FIN_SET = 2, ACK_SET = 3, RST_SET = 4, NONE_SET = 5;
constexpr uint32_t F_FIN = 1, F_SYN = 2, F_RST = 4, F_ACK = 0x10;
constexpr uint8_t SACK_PERM = 0x02, CLOSE_INIT = 0x04, DATA_UNACK = 0x10, MAXACK_SET = 0x20, SIMOPEN = 0x04, CHALLENGE_ACK = 0x40;
constexpr uint32_t MAXACKWINCONST = 66000;
constexpr uint8_t TCP_MAX_RETRANS = 3;
constexpr uint8_t SLOT_HASHED = 2;
constexpr int32_t IPVS_PENDING = 0x40000000;  // src/stages/ipvs4.ts

inline uint32_t rotl13(uint32_t h) { return (h << 13) | (h >> 19); }

// ConntrackTable.hash (Math.imul = wrapping 32-bit multiply).
inline uint32_t ctHash(const CtView& ct, uint32_t proto, uint32_t zone, uint32_t src, uint32_t dst, uint32_t sport, uint32_t dport) {
  uint32_t h = ct.seed ^ ((proto | (zone << 8)) * 0x9e3779b1u);
  h = rotl13((h ^ src) * 0x85ebca6bu);
  h = rotl13((h ^ dst) * 0xc2b2ae35u);
  h = (h ^ ((sport << 16) | dport)) * 0x27d4eb2fu;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  return h & ct.mask;
}

// ConntrackTable.find: node id of a hashed tuple, expired or not; -1 if absent. `bucket`: the tuple's
// ctHash when the caller has it (the LookupWarmer computed it ahead), else kNoBucket.
constexpr uint32_t kNoBucket = 0xffffffffu;
inline int32_t ctFind(const CtView& ct, uint32_t proto, uint32_t src, uint32_t dst, uint32_t sport, uint32_t dport, uint32_t bucket = kNoBucket) {
  int32_t n = ct.buckets[bucket != kNoBucket ? bucket : ctHash(ct, proto, 0, src, dst, sport, dport)];
  while (n != -1) {
    const int32_t e = n >> 1;
    if (ct.tSrc[n] == src && ct.tDst[n] == dst && ct.tSport[n] == sport && ct.tDport[n] == dport && ct.proto[e] == proto && ct.zone[e] == 0) return n;
    n = ct.tNext[n];
  }
  return -1;
}

// Warms a call's lookups as it walks the vector (as VPP's quad loops do): the bucket head of the
// packet kBucketAhead ahead, and the first chain entry's tuple and state words of the packet
// kEntryAhead ahead, whose bucket head was asked for earlier. Only loads; no decision depends on it.
// With thousands of flows each lookup otherwise waits on ~10 cache misses in turn; warming the whole
// vector up front lost the lines from L1 before their use, and redoing it at every resume after a
// TypeScript run made a vector with many new flows quadratic.
class LookupWarmer {
 public:
  LookupWarmer(const PoolView& p, const CtView& ct, const Call& c, int32_t from) : p_(p), ct_(ct), c_(c) {
    for (int32_t i = from; i < from + kBucketAhead && i < c.n; i++) bucket(i);
  }
  // The bucket of slot s's tuple when s is the packet the walk last stepped to (computed kBucketAhead
  // packets earlier), else kNoBucket: the scan for a stop's runEnd checks packets it never stepped to.
  uint32_t bucketFor(int32_t s) const { return at_ >= 0 && c_.slots[at_] == s ? hash_[at_ & kRing] : kNoBucket; }
  void step(int32_t i) {
    at_ = i;
    if (i + kBucketAhead < c_.n) bucket(i + kBucketAhead);
    const int32_t j = i + kEntryAhead;
    if (j >= c_.n) return;
    const uint32_t h = hash_[j & kRing];
    if (h == kNoHash) return;
    const int32_t n = ct_.buckets[h];
    if (n < 0) return;
    const int32_t e = n >> 1;
    prefetchLine(&ct_.tSrc[n]);
    prefetchLine(&ct_.tDst[n]);
    prefetchLine(&ct_.tSport[n]);
    prefetchLine(&ct_.tDport[n]);
    prefetchLine(&ct_.proto[e]);
    prefetchLine(&ct_.zone[e]);
    prefetchLine(&ct_.status[e]);
    prefetchLine(&ct_.deadline[e]);
    prefetchLine(&ct_.tcpState[e]);
    prefetchLine(&ct_.tdEnd[n]);
    prefetchLine(&ct_.tdMaxEnd[n]);
    prefetchLine(&ct_.tdMaxWin[n]);
    prefetchLine(&ct_.tdMaxAck[n]);
    prefetchLine(&ct_.tdScale[n]);
    prefetchLine(&ct_.tcpFlags[n]);
    // When the first node is another entry's, the walk reads its next: a miss in turn otherwise.
    prefetchLine(&ct_.tNext[n]);
  }

 private:
  static constexpr int32_t kBucketAhead = 12, kEntryAhead = 6, kRing = 15;
  static constexpr uint32_t kNoHash = kNoBucket;
  void bucket(int32_t i) {
    const int32_t s = c_.slots[i];
    uint32_t h = kNoHash;
    const int64_t l3 = p_.l3[s], l4 = p_.l4[s];
    if (!p_.ownBuf[s] && l3 >= 0 && l3 + 20 <= p_.slotBytes && l4 >= 0 && l4 + 4 <= p_.slotBytes) {
      const uint8_t* b = p_.slot(s);
      const uint32_t proto = b[l3 + 9];
      if (proto == 6 || proto == 17) {
        h = ctHash(ct_, proto, 0, rd32(b, l3 + 12), rd32(b, l3 + 16), rd16(b, l4), rd16(b, l4 + 2));
        prefetchLine(&ct_.buckets[h]);
      }
    }
    hash_[i & kRing] = h;
  }
  const PoolView& p_;
  const CtView& ct_;
  const Call& c_;
  int32_t at_ = -1;  // the index step() last saw
  uint32_t hash_[kRing + 1];
};

inline uint32_t csumUpdate32(uint32_t hc, uint32_t o, uint32_t n) {
  return finishChecksum(uint64_t(~hc & 0xffff) + (~(o >> 16) & 0xffff) + (~o & 0xffff) + (n >> 16) + (n & 0xffff));
}
inline uint32_t udpCsumUpdate16(uint32_t hc, uint32_t o, uint32_t n) {
  if (hc == 0) return 0;
  const uint32_t r = csumUpdate16(hc, o, n);
  return r == 0 ? 0xffff : r;
}
inline uint32_t udpCsumUpdate32(uint32_t hc, uint32_t o, uint32_t n) {
  if (hc == 0) return 0;
  const uint32_t r = csumUpdate32(hc, o, n);
  return r == 0 ? 0xffff : r;
}

}  // namespace

// src/dataplane/nat.ts natRewrite: address and port with RFC 1624 incremental checksums.
void natRewrite(const PoolView& p, int32_t s, int which, uint32_t addr, uint32_t port) {
  uint8_t* b = p.slot(s);
  const int64_t l3 = p.l3[s];
  const int64_t ao = l3 + (which ? 16 : 12);
  const uint32_t oldAddr = rd32(b, ao);
  if (oldAddr != addr) {
    wr32(b, ao, addr);
    wr16(b, l3 + 10, csumUpdate32(rd16(b, l3 + 10), oldAddr, addr));
  }
  const int64_t l4 = p.l4[s];
  if (l4 < 0) return;
  const uint32_t proto = b[l3 + 9];
  if (proto == 6 || proto == 17) {
    const int64_t po = l4 + (which ? 2 : 0);
    const uint32_t oldPort = rd16(b, po);
    const int64_t co = l4 + (proto == 6 ? 16 : 6);
    const int64_t end = int64_t(p.start[s]) + p.len[s];
    if (oldPort != port) wr16(b, po, port);
    if (co + 2 > end) return;
    uint32_t c = rd16(b, co);
    if (proto == 6) {
      if (oldAddr != addr) c = csumUpdate32(c, oldAddr, addr);
      if (oldPort != port) c = csumUpdate16(c, oldPort, port);
    } else {
      if (oldAddr != addr) c = udpCsumUpdate32(c, oldAddr, addr);
      if (oldPort != port) c = udpCsumUpdate16(c, oldPort, port);
    }
    wr16(b, co, c);
  }
  // ICMP is never handled natively (handed back before NAT).
}

namespace {

inline void refresh(CtView& ct, int32_t e, double now, double timeout) {
  if (ct.status[e] & IPS_FIXED_TIMEOUT) return;
  ct.deadline[e] = now + timeout;
}

// ConntrackTable.udpPacket + update()'s SEEN_REPLY.
void udpPacket(CtView& ct, int32_t e, int32_t dir, double now) {
  const uint32_t st = ct.status[e];
  if (!(st & IPS_CONFIRMED)) ct.streamTs[e] = now + 2;
  if (st & IPS_SEEN_REPLY) {
    double extra = ct.udpTimeout;
    bool stream = false;
    if (now > ct.streamTs[e]) {
      extra = ct.udpStreamTimeout;
      stream = (st & IPS_ASSURED) == 0;
    }
    refresh(ct, e, now, extra);
    if (!(st & IPS_NAT_CLASH) && stream) ct.status[e] |= IPS_ASSURED;
  } else {
    refresh(ct, e, now, ct.udpTimeout);
  }
  if (dir == 1) ct.status[e] |= IPS_SEEN_REPLY;
}

inline uint32_t tcpIndex(uint32_t f) {
  if (f & F_RST) return RST_SET;
  if (f & F_SYN) return (f & F_ACK) ? SYNACK_SET : SYN_SET;
  if (f & F_FIN) return FIN_SET;
  if (f & F_ACK) return ACK_SET;
  return NONE_SET;
}

inline bool before(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
inline bool after(uint32_t a, uint32_t b) { return int32_t(b - a) < 0; }

// src/conntrack/tcp-options.ts readTcpOptions' sack (tcp_sack): the highest right edge of the first SACK
// option's blocks after `ack`, over option bytes [from, to).
uint32_t sackEdge(const uint8_t* b, int64_t from, int64_t to, uint32_t ack) {
  uint32_t sack = ack;
  int64_t q = from;
  while (q < to) {
    const uint32_t op = b[q];
    if (op == 0) break;
    if (op == 1) { q++; continue; }
    if (to - q < 2) break;
    const int64_t size = b[q + 1];
    if (size < 2 || size > to - q) break;
    if (op == 5 && size >= 10 && (size - 2) % 8 == 0) {
      for (int64_t i = q + 2; i < q + size; i += 8) {
        const uint32_t right = rd32(b, i + 4);
        if (after(right, sack)) sack = right;
      }
      break;
    }
    q += size;
  }
  return sack;
}

// What ConntrackTable.tcpPacket reads of a TCP packet and decided in tcpNeedsTs.
struct TcpSeg {
  uint32_t seq, ack, sack, win, end, index;
  uint8_t ns;
};

// Would ConntrackTable.tcpPacket on this confirmed entry end in anything but a plain ACCEPT through
// tcp_in_window's update (IGNORED, INVALID, a reopen, a kill, the challenge-ACK ignore, a window check
// that fails)? Then the TS stage takes it. SYNs and RSTs always go to TS (sender (re)initialisation, the
// RST checks against td_maxack), and so does a direction whose window data is not set up yet (td_maxwin 0).
// The caller checked l4 + 20 <= slotBytes.
inline bool tcpNeedsTs(const PoolView& p, const CtView& ct, int32_t s, int32_t e, int32_t dir, TcpSeg* g) {
  const uint8_t* b = p.slot(s);
  const int64_t l3 = p.l3[s], l4 = p.l4[s];
  const uint32_t flags = b[l4 + 13];
  if (!ct.validFlags[flags] || (flags & (F_SYN | F_RST))) return true;
  const uint32_t index = tcpIndex(flags);
  const uint8_t old = ct.tcpState[e];
  if (old >= sMAX) return true;
  const uint8_t ns = ct.transitions[dir * 60 + index * 10 + old];
  if (ns == sIG || ns == sMAX) return true;
  if (ns == sTW && old == sLA && index == ACK_SET && ct.lastDir[e] != dir && ct.lastIndex[e] == SYN_SET && (ct.lastFlags[e] & CHALLENGE_ACK)) return true;
  const int32_t sd = e * 2 + dir, rd = e * 2 + 1 - dir;
  if (ct.tdMaxWin[sd] == 0) return true;
  const int64_t doff = int64_t(b[l4 + 12] >> 4) * 4;
  const uint32_t payload = rd16(b, l3 + 2) - uint32_t(b[l3] & 0x0f) * 4 - uint32_t(doff);
  const uint32_t seq = rd32(b, l4 + 4), ack = rd32(b, l4 + 8);
  const uint32_t end = seq + payload + ((flags & F_FIN) ? 1 : 0);
  uint32_t sack = ack;
  if ((ct.tcpFlags[rd] & SACK_PERM) && doff > 20) {
    int64_t to = l4 + doff;
    const int64_t pktEnd = int64_t(p.start[s]) + p.len[s];
    if (to > pktEnd) to = pktEnd;
    if (to > p.slotBytes) to = p.slotBytes;
    sack = sackEdge(b, l4 + 20, to, ack);
  }
  // tcp_in_window's bounds I-IV (no ACK-less packets here: every valid flag set without SYN/RST has ACK).
  const uint32_t maxAckWin = ct.tdMaxWin[sd] > MAXACKWINCONST ? ct.tdMaxWin[sd] : MAXACKWINCONST;
  if (!before(seq, ct.tdMaxEnd[sd] + 1)) return true;
  if (!before(sack, ct.tdEnd[rd] + 1)) return true;
  if (ct.tdMaxWin[rd] != 0 && !after(end, ct.tdEnd[sd] - ct.tdMaxWin[rd] - 1)) return true;
  if (!after(sack, ct.tdEnd[rd] - maxAckWin - 1)) return true;
  *g = TcpSeg{seq, ack, sack, rd16(b, l4 + 14), end, index, ns};
  return false;
}

// The rest of ConntrackTable.tcpPacket for a packet tcpNeedsTs passed: tcp_in_window's update, the
// state, the timeout and update()'s SEEN_REPLY.
void tcpPacket(CtView& ct, int32_t e, int32_t dir, double now, const TcpSeg& g) {
  const int32_t o = e * 2;
  const int32_t sd = o + dir, rd = o + 1 - dir;
  const uint8_t old = ct.tcpState[e];
  const uint32_t index = g.index;
  uint8_t ns = g.ns;
  // (SYN_SENT2 is reached by SYNs only, which TS takes: only the simultaneous open's final ACK is here.)
  if (ns == sSR && dir == 1 && index == ACK_SET && (ct.lastFlags[e] & SIMOPEN)) ns = sES;
  // tcp_in_window: sender, then receiver (never a SYN here: the window scales).
  const uint32_t win = g.win << ct.tdScale[sd];
  const uint32_t swin = win + (g.sack - g.ack);
  if (ct.tdMaxWin[sd] < swin) ct.tdMaxWin[sd] = swin;
  if (after(g.end, ct.tdEnd[sd])) {
    ct.tdEnd[sd] = g.end;
    ct.tcpFlags[sd] |= DATA_UNACK;
  }
  if (!(ct.tcpFlags[sd] & MAXACK_SET)) {
    ct.tdMaxAck[sd] = g.ack;
    ct.tcpFlags[sd] |= MAXACK_SET;
  } else if (after(g.ack, ct.tdMaxAck[sd])) {
    ct.tdMaxAck[sd] = g.ack;
  }
  if (ct.tdMaxWin[rd] != 0 && after(g.end, ct.tdMaxEnd[sd])) ct.tdMaxWin[rd] += g.end - ct.tdMaxEnd[sd];
  if (after(g.sack + win, ct.tdMaxEnd[rd] - 1)) ct.tdMaxEnd[rd] = g.sack + win + (win == 0 ? 1 : 0);
  if (g.ack == ct.tdEnd[rd]) ct.tcpFlags[rd] &= uint8_t(~DATA_UNACK);
  if (index == ACK_SET) {  // last_* follow ACK-class segments only (a FIN/ACK leaves them)
    if (ct.lastDir[e] == dir && ct.lastSeq[e] == g.seq && ct.lastAck[e] == g.ack && ct.lastEnd[e] == g.end && ct.lastWin[e] == g.win) {
      ct.retrans[e] = uint8_t(ct.retrans[e] + 1);  // a u8 in the kernel: it wraps
    } else {
      ct.lastDir[e] = uint8_t(dir);
      ct.lastSeq[e] = g.seq;
      ct.lastAck[e] = g.ack;
      ct.lastEnd[e] = g.end;
      ct.lastWin[e] = uint16_t(g.win);
      ct.retrans[e] = 0;
    }
  }
  // in_window:
  ct.lastIndex[e] = uint8_t(index);
  ct.lastDir[e] = uint8_t(dir);
  ct.tcpState[e] = ns;
  if (old != ns && ns == sFW) ct.tcpFlags[o + dir] |= CLOSE_INIT;
  const double* t = ct.tcpTimeouts;
  double timeout;
  if (ct.retrans[e] >= TCP_MAX_RETRANS && t[ns] > t[kRetrans]) timeout = t[kRetrans];
  else if (((ct.tcpFlags[o] | ct.tcpFlags[o + 1]) & DATA_UNACK) && t[ns] > t[kUnack]) timeout = t[kUnack];
  else if (ct.lastWin[e] == 0 && t[ns] > t[kRetrans]) timeout = t[kRetrans];
  else timeout = t[ns];
  const uint32_t st = ct.status[e];
  if (!(st & IPS_SEEN_REPLY)) {
    if (ns == sES && timeout > t[kUnack]) timeout = t[kUnack];
  } else if (!(st & IPS_ASSURED) && (old == sSR || old == sES) && ns == sES) {
    ct.status[e] = st | IPS_ASSURED;
  }
  refresh(ct, e, now, timeout);
  if (dir == 1) ct.status[e] |= IPS_SEEN_REPLY;
}

inline bool usable(const PoolView& p, int32_t s) {
  const int64_t l3 = p.l3[s];
  return p.ownBuf[s] == 0 && l3 >= 0 && l3 + 20 <= p.slotBytes;
}

// applyNat's rewrite for this hook and direction is one the native natRewrite makes exactly: none,
// or TCP/UDP (the TS natRewrite also rewrites the ICMP echo id: handed back).
// The status bit that says this hook translates this direction (the reply direction takes the other hook's).
inline uint32_t natBit(uint32_t hookBit, int32_t dir) { return dir == 1 ? (hookBit ^ IPS_NAT_MASK) : hookBit; }

inline bool natNative(const PoolView& p, int32_t s, uint32_t status, int32_t dir, uint32_t hookBit) {
  if (!(status & natBit(hookBit, dir))) return true;
  const uint32_t proto = p.slot(s)[p.l3[s] + 9];
  return p.l4[s] < 0 || proto == 6 || proto == 17;
}

// src/stages/netfilter-common.ts applyNat for a tracked packet whose rewrite natRewrite makes (natNative):
// at a DST hook the destination becomes the other direction's source, at a SRC hook the source its destination.
void applyNatNative(const PoolView& p, const CtView& ct, int32_t s, bool dstHook) {
  const int32_t n = p.ct[s];
  if (n < 0) return;
  const int32_t e = n >> 1, dir = n & 1;
  if (!(ct.status[e] & natBit(dstHook ? IPS_DST_NAT : IPS_SRC_NAT, dir))) return;
  const int32_t other = e * 2 + (dir ^ 1);
  if (dstHook) natRewrite(p, s, 1, ct.tSrc[other], ct.tSport[other]);
  else natRewrite(p, s, 0, ct.tDst[other], ct.tDport[other]);
}

// src/stages/netfilter-common.ts fillKp: the packet a filter walk sees (ports for TCP/UDP only, the entry's
// NAT bits in the ctstate; status 0 when untracked). False when the ports lie beyond the slot. The caller
// checked usable().
bool fillKpPacket(const PoolView& p, int32_t s, uint32_t status, FilterPacket* pk) {
  const uint8_t* b = p.slot(s);
  const int64_t l3 = p.l3[s], l4 = p.l4[s];
  const uint32_t proto = b[l3 + 9];
  const bool ports = l4 >= 0 && (proto == 6 || proto == 17);
  if (ports && l4 + 4 > p.slotBytes) return false;
  *pk = FilterPacket{rd32(b, l3 + 12), rd32(b, l3 + 16), filterProto(proto), ports ? rd16(b, l4) : 0u, ports ? rd16(b, l4 + 2) : 0u,
                     p.mark[s], filterCtstate(p.ctinfo[s], status)};
  return true;
}

}  // namespace

// src/stages/netfilter.ts nf4Prerouting for a packet of a confirmed, live entry whose ctinfo is
// ESTABLISHED or ESTABLISHED_REPLY: conntrackIn (lookup + state) then applyNat at the DST hook.
namespace {

// What nf4PreroutingEstablished decided for one packet (read-only: nothing written yet).
struct PreDecision {
  int32_t n, e, dir;
  uint32_t proto;
  uint8_t ctinfo;
  TcpSeg tcp;
};

// conntrackIn's lookup and state check for a TCP/UDP packet, shared by PREROUTING and OUTPUT: kTake
// for a confirmed, live entry whose ctinfo is ESTABLISHED(_REPLY), or NEW once its nat binding is set
// up (natUninitialized: DST_NAT_DONE; before that the nat walk runs in TS), and a TCP update that is a
// plain ACCEPT. Else what the TS stage's handling touches: only the packet and its entry (*entry; -1
// on a miss: a new entry) for a TCP/UDP packet (kDefer), anything else (kBarrier). Reads the table,
// writes nothing.
Verdict trackCheck(const PoolView& p, const CtView& ct, int32_t s, double now, PreDecision* d, int32_t* entry, uint32_t bucket) {
  if (!usable(p, s)) return kBarrier;
  const uint8_t* b = p.slot(s);
  const int64_t l3 = p.l3[s];
  const int64_t l4 = p.l4[s];
  const uint32_t proto = b[l3 + 9];
  if ((proto != 6 && proto != 17) || l4 < 0 || l4 + 20 > p.slotBytes) return kBarrier;
  const int32_t n = ctFind(ct, proto, rd32(b, l3 + 12), rd32(b, l3 + 16), rd16(b, l4), rd16(b, l4 + 2), bucket);
  if (n < 0) return kDefer;  // a new entry: TS
  const int32_t e = n >> 1;
  const int32_t dir = n & 1;
  *entry = e;
  if (ct.deadline[e] - now <= 0) return kDefer;  // lookup() reaps it: TS
  const uint32_t st = ct.status[e];
  if (dir == 1) d->ctinfo = IP_CT_ESTABLISHED_REPLY;
  else if (st & IPS_SEEN_REPLY) d->ctinfo = IP_CT_ESTABLISHED;
  else if (st & IPS_EXPECTED) return kDefer;  // RELATED: TS
  else if (st & IPS_DST_NAT_DONE) d->ctinfo = IP_CT_NEW;
  else return kDefer;
  if (proto == 6 && tcpNeedsTs(p, ct, s, e, dir, &d->tcp)) return kDefer;
  d->n = n; d->e = e; d->dir = dir; d->proto = proto;
  return kTake;
}

// nf4-prerouting: trackCheck, and a packet IPVS just scheduled goes to TS (ipvsDnat binds its entry).
Verdict preCheck(const PoolView& p, const CtView& ct, int32_t s, double now, PreDecision* d, int32_t* entry, uint32_t bucket) {
  const Verdict v = trackCheck(p, ct, s, now, d, entry, bucket);
  return v == kTake && (p.aux1[s] & IPVS_PENDING) ? kDefer : v;
}

// conntrackIn for a packet preCheck/outCheck took: the entry's TCP or UDP state update, the lookup
// counted as found, and the packet's entry and ctinfo.
void trackTaken(const PoolView& p, CtView& ct, int32_t s, const PreDecision& d, CtCall* cc) {
  if (d.proto == 6) {
    tcpPacket(ct, d.e, d.dir, cc->now, d.tcp);
  } else {
    udpPacket(ct, d.e, d.dir, cc->now);
  }
  cc->found++;
  p.ct[s] = d.n;
  p.ctinfo[s] = d.ctinfo;
}

}  // namespace

int32_t nf4PreroutingEstablished(const PoolView& p, CtView& ct, const Call& c, CtCall* cc, int32_t from) {
  PreDecision d{};
  LookupWarmer warm(p, ct, c, from);
  return walkDeferring(c, from, ct.roomFor(c.n - from), &cc->runEnd, &cc->deferred, [&](int32_t i) { warm.step(i); },
    [&](int32_t s, int32_t* entry) { return preCheck(p, ct, s, cc->now, &d, entry, warm.bucketFor(s)); },
    [&](int32_t s) {
      trackTaken(p, ct, s, d, cc);
      applyNatNative(p, ct, s, true);
      p.next[s] = 0;
    });
}

// src/stages/netfilter.ts nf4Postrouting for untracked packets and packets of confirmed entries
// that are not NEW: applyNat at the SRC hook; confirm() is a no-op for them.
namespace {
// As preCheck (read-only); untracked packets have nothing to rewrite. TS confirms an unconfirmed
// entry, or binds NAT on its own entry: the packet's entry (pool.ct) is all it writes, except that a
// confirm frees an expired entry holding one of its tuples. So a packet whose entry has expired by
// `now` is deferred: a deferred packet before it may free that entry, as the TS stage alone would.
Verdict postCheck(const PoolView& p, const CtView& ct, int32_t s, double now, int32_t* entry) {
  const int32_t n = p.ct[s];
  const uint8_t info = p.ctinfo[s];
  if (n < 0) return kTake;
  const int32_t e = n >> 1;
  if (!usable(p, s) || e >= ct.max) return kBarrier;
  *entry = e;
  if (ct.slot[e] != SLOT_HASHED || ct.deadline[e] - now <= 0) return kDefer;
  const uint32_t st = ct.status[e];
  // NEW before its nat binding is set up (natUninitialized: SRC_NAT_DONE) walks nat POSTROUTING: TS.
  if (info == IP_CT_NEW && !(st & IPS_SRC_NAT_DONE)) return kDefer;
  return natNative(p, s, st, n & 1, IPS_SRC_NAT) ? kTake : kBarrier;
}
}  // namespace

int32_t nf4PostroutingEstablished(const PoolView& p, CtView& ct, const Call& c, CtCall* cc, int32_t from) {
  return walkDeferring(c, from, ct.roomFor(c.n - from), &cc->runEnd, &cc->deferred, noWarm,
    [&](int32_t s, int32_t* entry) { return postCheck(p, ct, s, cc->now, entry); },
    [&](int32_t s) {
      applyNatNative(p, ct, s, false);
      if (p.flags[s] & kFlagLoopback) {
        // lo: received again at LOCAL_IN (netfilter.ts nf4Postrouting).
        p.flags[s] &= ~(kFlagLoopback | kFlagLocalOut);
        p.next[s] = 1;
      } else {
        p.next[s] = 0;
      }
    });
}

// src/stages/netfilter.ts nf4Forward: the filter FORWARD walk (fillKp's packet: the entry's NAT bits in
// the ctstate) over the compiled program, any ctstate; ACCEPT takes the walk's mark and goes on. A node
// without rules accepts with the mark untouched. Walks that do not end in a plain ACCEPT, private
// buffers and unreadable headers are left (simple form: the walk is pure, so order does not matter).
// Where filter-proof.ts proved the chain ACCEPTs every established packet (no side effect, no MARK),
// established packets pass without the walk, which would give the same.
int32_t nf4ForwardFiltered(const PoolView& p, const CtView& ct, const FilterView& f, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    const int32_t n = p.ct[s];
    const uint8_t info = p.ctinfo[s];
    uint32_t mark = p.mark[s];
    FilterPacket pk;
    // The proven chain accepts an established packet with the mark untouched: no walk needed.
    const bool proven = f.forwardEstablished && n >= 0 && (info == IP_CT_ESTABLISHED || info == IP_CT_ESTABLISHED_REPLY);
    const bool ok = !f.present || proven || (usable(p, s) && (n < 0 || (n >> 1) < ct.max) && fillKpPacket(p, s, n >= 0 ? ct.status[n >> 1] : 0, &pk) &&
                                   filterAccepts(f, f.forward, pk, &mark));
    c.handBack[i] = ok ? 0 : 1;
    if (!ok) {
      left++;
      continue;
    }
    p.mark[s] = mark;
    p.next[s] = 0;
  }
  return left;
}

// ---- nf4-output and nf4-input over the filter program (src/native/filter-program.ts) ----------------

namespace {

// What nf4OutputTracked decided for one packet (read-only: nothing written yet).
struct OutDecision {
  PreDecision pre;
  uint32_t mark;
  bool nat;       // the entry's DNAT/reverse SNAT rewrites the destination port (address unchanged)
  bool setMark;   // the node has rules: walk() writes pool.mark
};

// src/stages/netfilter.ts nf4Output for a TCP/UDP packet trackCheck takes: the entry's NAT at the
// DST hook and the filter OUTPUT walk on the rewritten packet ending in ACCEPT. A NAT that changes the
// destination address (ip_route_me_harder) and everything trackCheck leaves go to TS. Reads only.
Verdict outCheck(const PoolView& p, const CtView& ct, const FilterView& f, int32_t s, double now, OutDecision* d, int32_t* entry, uint32_t bucket) {
  const PreDecision& pd = d->pre;
  const Verdict v = trackCheck(p, ct, s, now, &d->pre, entry, bucket);
  if (v != kTake) return v;
  const uint8_t* b = p.slot(s);
  const int64_t l3 = p.l3[s];
  const int64_t l4 = p.l4[s];
  const uint32_t proto = pd.proto, dst = rd32(b, l3 + 16), dport = rd16(b, l4 + 2);
  const int32_t e = pd.e, dir = pd.dir;
  const uint32_t st = ct.status[e];
  FilterPacket pk{rd32(b, l3 + 12), dst, proto, rd16(b, l4), dport, p.mark[s], filterCtstate(pd.ctinfo, st)};
  d->nat = (st & natBit(IPS_DST_NAT, dir)) != 0;
  if (d->nat) {
    const int32_t other = e * 2 + (dir ^ 1);
    if (ct.tSrc[other] != dst) return kDefer;  // the destination changes: route again (TS)
    pk.dport = ct.tSport[other];
  }
  d->setMark = f.present;
  if (f.present && !filterAccepts(f, f.output, pk, &d->mark)) return kDefer;
  return kTake;
}

// src/stages/netfilter.ts nf4LocalIn: the filter INPUT walk ends in ACCEPT, the entry's source un-NAT
// is one natRewrite makes, and the entry is confirmed (confirm() a no-op) or the packet untracked.
// TS confirms an unconfirmed entry or runs a walk that does not ACCEPT (a DROP, or a REJECT whose
// ICMP error it generates): the packet and its own entry are all it writes, but for a confirm's free
// of an expired entry holding one of its tuples (postCheck): an expired entry's packet is deferred.
Verdict inCheck(const PoolView& p, const CtView& ct, const FilterView& f, int32_t s, double now, uint32_t* mark, int32_t* entry) {
  if (!usable(p, s)) return kBarrier;
  const int32_t n = p.ct[s];
  uint32_t st = 0;
  if (n >= 0) {
    const int32_t e = n >> 1;
    if (e >= ct.max) return kBarrier;
    *entry = e;
    if (ct.slot[e] != SLOT_HASHED || ct.deadline[e] - now <= 0) return kDefer;
    st = ct.status[e];
    if (!natNative(p, s, st, n & 1, IPS_SRC_NAT)) return kBarrier;
  }
  FilterPacket pk;
  if (!fillKpPacket(p, s, st, &pk)) return kBarrier;
  return !f.present || filterAccepts(f, f.input, pk, mark) ? kTake : kDefer;
}

}  // namespace

int32_t nf4OutputTracked(const PoolView& p, CtView& ct, const FilterView& f, const Call& c, CtCall* cc, int32_t from) {
  OutDecision d{};
  // The outer VXLAN flows are many (udp_flow_src_port hashes the inner flow): warm them too.
  LookupWarmer warm(p, ct, c, from);
  return walkDeferring(c, from, ct.roomFor(c.n - from), &cc->runEnd, &cc->deferred, [&](int32_t i) { warm.step(i); },
    [&](int32_t s, int32_t* entry) { return outCheck(p, ct, f, s, cc->now, &d, entry, warm.bucketFor(s)); },
    [&](int32_t s) {
      trackTaken(p, ct, s, d.pre, cc);
      if (d.nat) applyNatNative(p, ct, s, true);
      if (d.setMark) p.mark[s] = d.mark;
      p.next[s] = 0;
    });
}

int32_t nf4InputTracked(const PoolView& p, CtView& ct, const FilterView& f, const Call& c, CtCall* cc, int32_t from) {
  uint32_t mark = 0;
  return walkDeferring(c, from, ct.roomFor(c.n - from), &cc->runEnd, &cc->deferred, noWarm,
    [&](int32_t s, int32_t* entry) { return inCheck(p, ct, f, s, cc->now, &mark, entry); },
    [&](int32_t s) {
      if (f.present) p.mark[s] = mark;
      applyNatNative(p, ct, s, false);
      p.next[s] = 0;
    });
}

}  // namespace dpemu
