#include "edge.h"

#include <cmath>
#include <cstring>

#include "layouts.h"

#include "prefetch.h"
#include "wire.h"

namespace dpemu {
namespace {

constexpr int16_t kNextDone = -3;  // runtime.ts NEXT_DONE
constexpr uint8_t kVerdictForwarded = 1;
constexpr uint8_t kCtNew = 2;                // IP_CT_NEW
constexpr int32_t kMaxVlanTags = 4;          // view.ts MAX_VLAN_TAGS
constexpr uint32_t kGenevePort = 6081;

// The headers of a vector's frames are cold when these stages run (the dispatcher moves a whole batch
// of up to thousands of packets, each in its own pages, one stage at a time; underlay-xmit is the last
// stage): one missing load per packet dominated their loops (perf: ~90% of underlay-xmit's samples on
// its first read of the frame). So they first prefetch the first line of every frame of the vector (at
// most 256 lines), then run the loop while the misses resolve in parallel. (A prefetch window of 8
// packets did not hide the latency.)
// The line at the frame's start of packet i of the vector (nothing for a start outside the slot).
inline void prefetchFrame(const PoolView& p, const Call& c, int32_t i) {
  if (i >= c.n) return;
  const int32_t s = c.slots[i];
  const int64_t st = p.start[s];
  if (st >= 0 && st < p.slotBytes) prefetchLine(p.slot(s) + st);
}

// A MAC as one 48-bit number (b[o] the most significant byte), and the device table's the same way.
inline uint64_t mac48(const uint8_t* b, int64_t o) { return (uint64_t(rd16(b, o)) << 32) | rd32(b, o + 2); }
inline uint64_t devMac48(const DeviceView& d, int32_t k) {
  return (uint64_t(uint32_t(d.info[k * kDeviceStride + kDevMacHi])) << 32) | uint32_t(d.info[k * kDeviceStride + kDevMacLo]);
}

// The l3/l4 offsets parsePacket (src/packet/parse.ts, link type Ethernet, not quoted) gives layer 0
// of a frame it parses without error and that has no further layer, or false for anything else
// (the TS stage then runs the full parser). capEnd/wireEnd as parsePacket computes them.
bool parseCommon(const uint8_t* b, int64_t off, int64_t end, int64_t wireEnd, uint32_t vxlanPort, int32_t* l3, int32_t* l4) {
  if (end - off < 14) return false;  // ETH_TRUNCATED (and PACKET_TOO_SHORT)
  uint32_t t = rd16(b, off + 12);
  int64_t p = off + 14;
  int32_t tags = 0;
  while (t == 0x8100 || t == 0x88a8 || t == 0x9100 || t == 0x9200) {
    if (end - p < 4 || tags >= kMaxVlanTags) return false;  // VLAN_TRUNCATED, TOO_MANY_VLAN_TAGS
    tags++;
    t = rd16(b, p + 2);
    p += 4;
  }
  if (t != 0x0800) return false;  // LLC, ARP, IPv6, other EtherTypes
  const int64_t ipo = p;
  if (end - ipo < 20) return false;
  const uint32_t b0 = b[ipo];
  if ((b0 >> 4) != 4) return false;
  const int64_t ihl = int64_t(b0 & 15) << 2;
  const int64_t total = rd16(b, ipo + 2);
  if (ihl < 20 || total == 0 || total < ihl) return false;  // BAD_IHL, TSO length 0, BAD_IPV4_TOTAL_LENGTH
  const int64_t dgramWireEnd = ipo + total;
  if (dgramWireEnd > wireEnd) return false;  // deferred BAD_IPV4_TOTAL_LENGTH
  if (end - ipo < ihl) return false;         // IPV4_TRUNCATED
  const int64_t ipEnd = dgramWireEnd < end ? dgramWireEnd : end;
  const uint32_t ff = rd16(b, ipo + 6);
  const bool mf = ((ff >> 13) & 1) != 0;
  const uint32_t fragOff = (ff & 0x1fff) << 3;
  const uint32_t proto = b[ipo + 9];
  const int64_t q = ipo + ihl;
  if (fragOff != 0) { *l3 = int32_t(ipo); *l4 = -1; return true; }
  const int64_t avail = ipEnd - q;
  if (proto == 6) {
    if (avail < 20) return false;
    const int64_t hl = int64_t(b[q + 12] >> 4) << 2;
    if (hl < 20 || q + hl > dgramWireEnd || hl > avail) return false;
  } else if (proto == 17) {
    if (avail < 8) return false;
    const int64_t ulen = rd16(b, q + 4);
    const int64_t udpEnd = q + ulen;
    if (!(mf && udpEnd > dgramWireEnd) && (ulen < 8 || udpEnd > dgramWireEnd)) return false;  // BAD_UDP_LENGTH
    if (!mf) {
      const uint32_t dport = rd16(b, q + 2);
      if (dport == vxlanPort || dport == kGenevePort) return false;  // a tunnel: inner layers
    }
  } else if (proto == 1) {
    if (avail < 8) return false;
    const uint32_t type = b[q];
    const bool isErr = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    if (isErr && avail > 8) return false;  // quotes a datagram: a second layer
  } else if (proto == 4 || proto == 41 || proto == 58) {
    return false;  // IP-in-IP, 6in4, ICMPv6 over IPv4
  } else {
    *l3 = int32_t(ipo); *l4 = -1;  // not dissected: no L4 offset
    return true;
  }
  *l3 = int32_t(ipo);
  *l4 = int32_t(q);
  return true;
}

}  // namespace

int32_t frameInput(const PoolView& p, const DeviceView& d, const Call& c) {
  int32_t left = 0;
  // attach() by source MAC: the table is fixed for the call, so the last MAC's answer holds for the next
  // packet with the same source MAC (a capture's frames mostly come from a few senders).
  uint64_t lastMac = ~uint64_t(0);
  int32_t lastDev = -1;
  for (int32_t i = 0; i < c.n; i++) prefetchFrame(p, c, i);
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    if (p.ownBuf[s] != 0 || (p.flags[s] & kFlagNotEthernet)) { c.handBack[i] = 1; left++; continue; }
    const uint8_t* b = p.slot(s);
    const int64_t st = p.start[s];
    const int64_t caplen = p.len[s];
    int64_t avail = p.slotBytes - st;
    if (avail < 0) avail = 0;
    const int64_t capEnd = st + (caplen < avail ? caplen : avail);
    const int64_t wireEnd = st + (p.wireLen[s] > caplen ? int64_t(p.wireLen[s]) : caplen);
    int32_t l3 = -1, l4 = -1;
    if (st < 0 || !parseCommon(b, st, capEnd, wireEnd, d.vxlanPort, &l3, &l4)) { c.handBack[i] = 1; left++; continue; }
    int32_t dev = p.device[s];
    bool sent = true;
    if (dev >= 0) {
      if (dev >= d.count) { c.handBack[i] = 1; left++; continue; }
      sent = d.kind(dev) == kKindPodEth0;
    } else {
      // attach(): the first pod eth0 or node NIC with the source MAC, in table order.
      const uint64_t mac = mac48(b, st + 6);
      if (mac == lastMac) {
        dev = lastDev;
      } else {
        for (int32_t k = 0; k < d.count; k++) {
          const int32_t kind = d.kind(k);
          if ((kind == kKindPodEth0 || kind == kKindUnderlay) && devMac48(d, k) == mac) { dev = k; break; }
        }
        lastMac = mac;
        lastDev = dev;
      }
      if (dev < 0) { c.handBack[i] = 1; left++; continue; }  // by source IP (L2 rewrite, LOCAL_OUT) or unknown
    }
    c.handBack[i] = 0;
    p.l3[s] = l3;
    p.l4[s] = l4;
    p.device[s] = dev;
    p.ingress[s] = dev;
    p.node[s] = int16_t(d.node(dev));
    const int32_t kind = d.kind(dev);
    if (p.flags[s] & kFlagLocalOut) p.next[s] = 3;
    else if (kind == kKindPodEth0) p.next[s] = 0;
    else if (sent && kind == kKindUnderlay) p.next[s] = 2;
    else p.next[s] = 1;  // received by a node device: the caller observes it
  }
  return left;
}

int32_t vethXmit(const PoolView& p, const DeviceView& d, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    const int32_t from = p.device[s];
    const int32_t to = from >= 0 && from < d.count ? d.peer(from) : -1;
    if (to < 0 || to >= d.count) { c.handBack[i] = 1; left++; continue; }
    c.handBack[i] = 0;
    p.device[s] = to;
    if (d.kind(to) == kKindHostVeth) {
      p.next[s] = 0;
    } else {
      p.next[s] = kNextDone;
      p.verdict[s] = kVerdictForwarded;
    }
  }
  return left;
}

int32_t underlayXmit(const PoolView& p, const DeviceView& d, const Call& c, int32_t nic) {
  if (nic < 0 || nic >= d.count) {
    for (int32_t i = 0; i < c.n; i++) c.handBack[i] = 1;
    return c.n;
  }
  // The wire's NICs other than the sender's, in nicOf order, as 48-bit MACs (the table is fixed for the call).
  constexpr int32_t kMaxNics = 64;
  uint64_t nicMac[kMaxNics];
  int32_t nicDev[kMaxNics];
  int32_t nics = 0;
  bool small = d.nodeCount <= kMaxNics;
  for (int32_t k = 0; small && k < d.nodeCount; k++) {
    const int32_t n = d.nicOf[k];
    if (n >= 0 && n < d.count && d.kind(n) == kKindUnderlay && n != nic) {
      nicMac[nics] = devMac48(d, n);
      nicDev[nics] = n;
      nics++;
    }
  }
  for (int32_t i = 0; i < c.n; i++) prefetchFrame(p, c, i);
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    const uint8_t* b = p.slot(s);
    const int64_t st = p.start[s];
    if (p.ownBuf[s] != 0 || (b[st] & 1) != 0) { c.handBack[i] = 1; left++; continue; }
    c.handBack[i] = 0;
    // The last NIC that matches, as the TS loop (no break).
    int32_t to = -1;
    if (small) {
      const uint64_t mac = mac48(b, st);
      for (int32_t k = 0; k < nics; k++) if (nicMac[k] == mac) to = nicDev[k];
    } else {
      for (int32_t k = 0; k < d.nodeCount; k++) {
        const int32_t n = d.nicOf[k];
        if (n >= 0 && n < d.count && d.kind(n) == kKindUnderlay && n != nic && d.macIs(n, b, st)) to = n;
      }
    }
    if (to < 0) {
      p.device[s] = nic;
      p.next[s] = kNextDone;
      p.verdict[s] = kVerdictForwarded;
      continue;
    }
    p.node[s] = int16_t(d.node(to));
    p.device[s] = to;
    p.flags[s] &= ~kFlagLocalOut;
    p.next[s] = 0;
  }
  return left;
}

namespace {

enum PolicyAction { kPolicyPass, kPolicyRecord, kPolicyTs };

// The IPv4 protocol byte of a packet in its slot, or -1 when it is not readable here (private buffer, no header).
inline int32_t ipProto(const PoolView& p, int32_t s) {
  const int32_t l3 = p.l3[s];
  if (p.ownBuf[s] != 0 || l3 < 0 || l3 + 20 > p.slotBytes) return -1;
  return p.slot(s)[l3 + 9];
}

// The protocols policy matches by port or type and bpf_lxc's conntrack tracks: TCP, UDP, ICMP, SCTP (Cilium:
// with enable-sctp; without it TypeScript drops SCTP, which never gets a record for this stage to find).
inline bool knownL4(uint32_t proto) { return proto == 6 || proto == 17 || proto == 1 || proto == 132; }

constexpr uint16_t kCtSeenNonSyn = 1 << 4;  // CT_F_SEEN_NON_SYN

// ctRecord's key for an established packet at this endpoint (OUT when the endpoint started the flow,
// IN when it accepted it), and the map it lives in. False when the packet's headers are not readable.
bool bpfCtKey(const PoolView& p, BpfCtView& v, int32_t s, bool egress, uint8_t key[14], BpfHashView** map) {
  const int32_t ip = ipProto(p, s);
  if (ip < 0) return false;
  const int64_t l3 = p.l3[s], l4 = p.l4[s];
  const uint8_t* b = p.slot(s);
  const uint32_t proto = uint32_t(ip);
  const bool ports = l4 >= 0 && (proto == 6 || proto == 17 || proto == 132);  // SCTP: only with enable-sctp
  if (l4 >= 0 && l4 + 14 > p.slotBytes) return false;
  const uint32_t saddr = rd32(b, l3 + 12), daddr = rd32(b, l3 + 16);
  const uint32_t sport = ports ? rd16(b, l4) : 0, dport = ports ? rd16(b, l4 + 2) : 0;
  const bool reply = (p.ct[s] & 1) == 1;
  const uint32_t cAddr = reply ? daddr : saddr, cPort = reply ? dport : sport;
  const uint32_t sAddr = reply ? saddr : daddr, sPort = reply ? sport : dport;
  const bool out = egress != reply;
  // struct ipv4_ct_tuple (packed, network order): daddr, saddr, dport, sport, nexthdr, flags.
  wr32(key, 0, out ? cAddr : sAddr);
  wr32(key, 4, out ? sAddr : cAddr);
  wr16(key, 8, out ? cPort : sPort);
  wr16(key, 10, out ? sPort : cPort);
  key[12] = uint8_t(proto);
  key[13] = out ? 0 : 1;  // TUPLE_F_OUT / TUPLE_F_IN
  *map = proto == 6 ? &v.tcp : &v.any;
  return true;
}

inline uint64_t ld64(const uint8_t* q) { uint64_t x; std::memcpy(&x, q, 8); return x; }
inline void st64(uint8_t* q, uint64_t x) { std::memcpy(q, &x, 8); }

// ctRecord's update of an existing entry (the caller found it with a peek).
void bpfCtRecord(const PoolView& p, BpfCtView& v, BpfHashView& map, int32_t entry, int32_t s, bool rx, double now) {
  uint8_t* e = map.bytes + map.hit(entry);  // the lookup of the entry the peek found (nothing ran since)
  const uint8_t* b = p.slot(s);
  const int64_t l3 = p.l3[s], l4 = p.l4[s];
  const uint32_t proto = b[l3 + 9];
  const uint64_t bytes = rd16(b, l3 + 2);
  const uint8_t tcpFlags = proto == 6 && l4 >= 0 ? b[l4 + 13] : 0;
  const uint32_t nowS = uint32_t(int64_t(std::floor(now)));
  ct_entry_v1 c;
  std::memcpy(&c, e, sizeof c);
  if (rx) {
    c.rx_packets += 1;
    c.rx_bytes += bytes;
    c.rx_flags_seen |= tcpFlags;
    c.last_rx_report = nowS;
  } else {
    c.tx_packets += 1;
    c.tx_bytes += bytes;
    c.tx_flags_seen |= tcpFlags;
    c.last_tx_report = nowS;
  }
  const bool syn = proto == 6 && (tcpFlags & 0x02) != 0 && (tcpFlags & 0x10) == 0;
  if (proto == 6 && !syn) c.flags |= kCtSeenNonSyn;
  const bool closing = proto == 6 && (tcpFlags & 0x05) != 0;
  c.lifetime = nowS + (proto != 6 ? v.lifeAny : closing ? v.lifeTcpFin : (c.flags & kCtSeenNonSyn) ? v.lifeTcp : v.lifeTcpSyn);
  std::memcpy(e, &c, sizeof c);
}

}  // namespace

int32_t policy4Established(const PoolView& p, const DeviceView& d, const Call& c, int32_t from, bool egress, bool policyOn,
                           const uint8_t* open, int32_t openLen, BpfCtView* ebpf, double now, int32_t* runEnd, int32_t* deferred) {
  // The iptables model (no eBPF state): only NEW/untracked packets the policy decides need TS.
  auto needsTs = [&](int32_t s) -> bool {
    if (!policyOn) return false;
    const int32_t dev = p.device[s];
    if (egress && dev < 0) return false;  // no device: not enforced
    if (dev < 0 || dev >= d.count) return true;
    const bool enforced = egress ? (d.kind(dev) == kKindHostVeth && d.hasPod(dev)) : d.hasPod(dev);
    if (!enforced) return false;
    // Established (the first packet's verdict holds): no L7 flow waits (caller), no eBPF state (caller).
    if (p.ct[s] >= 0 && p.ctinfo[s] != kCtNew) return false;
    // NEW or untracked: no policy selects the endpoint in this direction (its chain ACCEPTs every new flow).
    if (open != nullptr && dev < openLen && (open[dev] & (egress ? 1 : 2)) != 0) return false;
    // tcp, udp, icmp or sctp without a readable L4 header (a later fragment) passes undecided; the policy decides
    // the rest, a protocol without ports (GRE, ESP) on addresses alone.
    const int32_t proto = ipProto(p, s);
    if (proto < 0) return true;
    return !(knownL4(uint32_t(proto)) && p.l4[s] < 0);
  };
  // eBPF state: every pod endpoint is enforced; an established packet is recorded in ct4_global.
  uint8_t key[14];
  BpfHashView* map = nullptr;
  int32_t entry = -1;
  auto decide = [&](int32_t s) -> PolicyAction {
    if (ebpf == nullptr) return needsTs(s) ? kPolicyTs : kPolicyPass;
    const int32_t dev = p.device[s];
    if (egress && dev < 0) return kPolicyPass;
    if (dev < 0 || dev >= d.count) return kPolicyTs;
    const bool enforced = egress ? (d.kind(dev) == kKindHostVeth && d.hasPod(dev)) : d.hasPod(dev);
    if (!enforced) return kPolicyPass;
    // Cilium's conntrack drops protocols it cannot track at every endpoint (CT_UNKNOWN_L4_PROTOCOL): TS does it.
    // SCTP without enable-sctp is one of them; it never gets a record, so its lookup below misses and TS drops it.
    const int32_t proto = ipProto(p, s);
    if (proto < 0 || !knownL4(uint32_t(proto))) return kPolicyTs;
    if (p.ct[s] < 0 || p.ctinfo[s] == kCtNew) return kPolicyTs;  // a decision, or an entry to create
    if (p.ctinfo[s] == 1 || p.ctinfo[s] == 4) return kPolicyPass;  // RELATED: accounted to its flow, no record
    if (!bpfCtKey(p, *ebpf, s, egress, key, &map)) return kPolicyTs;
    entry = map->peek(key);
    return entry >= 0 ? kPolicyRecord : kPolicyTs;
  };
  // ct4_global is Cilium-sized (hundreds of thousands of entries): warm each record's bucket head 8
  // packets ahead, its first chain entry 4 ahead and that entry's LRU neighbours 2 ahead (loads only).
  constexpr int32_t kRing = 15;
  uint32_t ringHash[kRing + 1];
  BpfHashView* ringMap[kRing + 1];
  auto warmKey = [&](int32_t j) {
    ringMap[j & kRing] = nullptr;
    const int32_t s = c.slots[j];
    const int32_t dev = p.device[s];
    if (p.ct[s] < 0 || p.ctinfo[s] == kCtNew || dev < 0 || dev >= d.count) return;
    uint8_t k[14];
    BpfHashView* m = nullptr;
    if (!bpfCtKey(p, *ebpf, s, egress, k, &m)) return;
    const uint32_t h = m->hashOf(k);
    prefetchLine(m->bucketLine(h));
    ringHash[j & kRing] = h;
    ringMap[j & kRing] = m;
  };
  auto warm = [&](int32_t i) {
    if (i + 8 < c.n) warmKey(i + 8);
    if (i + 4 < c.n && ringMap[(i + 4) & kRing] != nullptr) {
      const BpfHashView* m = ringMap[(i + 4) & kRing];
      const int32_t e = m->bucketHead(ringHash[(i + 4) & kRing]);
      if (e >= 0 && uint32_t(e) < m->max) prefetchLine(m->entryLine(e));
    }
    if (i + 2 < c.n && ringMap[(i + 2) & kRing] != nullptr) {
      const BpfHashView* m = ringMap[(i + 2) & kRing];
      const int32_t e = m->bucketHead(ringHash[(i + 2) & kRing]);
      if (e >= 0 && uint32_t(e) < m->max) {
        const int32_t a = m->lruPrev(e), b = m->lruNext(e);
        if (a >= 0 && uint32_t(a) < m->max) prefetchLine(m->entryLine(a));
        if (b >= 0 && uint32_t(b) < m->max) prefetchLine(m->entryLine(b));
      }
    }
  };
  if (ebpf != nullptr) for (int32_t j = from; j < from + 8 && j < c.n; j++) warmKey(j);
  PolicyAction a = kPolicyPass;
  return walkDeferring(c, from, ebpf == nullptr, runEnd, deferred, [&](int32_t i) { if (ebpf != nullptr) warm(i); },
    [&](int32_t s, int32_t* flow) {
      *flow = p.ct[s] >= 0 ? p.ct[s] >> 1 : -1;
      if ((a = decide(s)) != kPolicyTs) return kTake;
      return ipProto(p, s) < 0 ? kBarrier : kDefer;
    },
    [&](int32_t s) {
      if (a == kPolicyRecord) bpfCtRecord(p, *ebpf, *map, entry, s, !egress, now);
      p.next[s] = 0;
    });
}

}  // namespace dpemu
