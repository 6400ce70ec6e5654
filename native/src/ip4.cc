#include "ip4.h"

#include <algorithm>

#include <cstring>

#include "conntrack.h"
#include "drop_reasons.h"
#include "stages.h"
#include "wire.h"

namespace dpemu {
namespace {

constexpr int16_t kDone = -3;            // runtime.ts NEXT_DONE
constexpr uint8_t kVerdictForwarded = 1;  // pool.ts Verdict.FORWARDED
constexpr uint8_t kRouteLocal = 0, kRouteVia = 2;
constexpr uint8_t kKindHostVeth = 1, kKindVxlan = 2, kKindUnderlay = 3;
constexpr uint32_t kTcp = 6, kUdp = 17;

inline uint32_t hostBe16(uint16_t v) { return rd16(reinterpret_cast<const uint8_t*>(&v), 0); }
inline uint32_t hostBe32(uint32_t v) { return rd32(reinterpret_cast<const uint8_t*>(&v), 0); }
inline uint32_t maskOf(uint32_t len) { return len == 0 ? 0u : 0xffffffffu << (32 - len); }

// The packet's IPv4 header is readable in the shared pool memory (a private buffer is TS-only).
inline bool l3Readable(const PoolView& p, int32_t s) {
  const int64_t l3 = p.l3[s];
  return p.ownBuf[s] == 0 && l3 >= 0 && l3 + 20 <= p.slotBytes;
}
inline bool l4PortsReadable(const PoolView& p, int32_t s) {
  const int64_t l4 = p.l4[s];
  return l4 < 0 || l4 + 4 <= p.slotBytes;
}

inline int32_t leave(const Call& c, int32_t i, int32_t* left) {
  c.handBack[i] = 1;
  return ++*left;
}

}  // namespace

void buildIp4Tables(const native_route_v1* routes, int32_t routeCount, const native_neighbour_v1* neighbours,
                    int32_t neighbourCount, const uint8_t* kinds, int32_t kindCount, Ip4Tables* out) {
  // RouteTable keeps the first route added per (length, prefix) and probes lengths from /32 down:
  // sort by length (longest first), prefix, then insertion order, and keep the first of each pair.
  struct Row { uint32_t len, prefix; int32_t idx; };
  std::vector<Row> rows;
  rows.reserve(size_t(routeCount));
  for (int32_t i = 0; i < routeCount; i++) {
    const uint32_t len = std::min<uint32_t>(routes[i].len, 32);
    rows.push_back({len, hostBe32(routes[i].prefix) & maskOf(len), i});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.len != b.len) return a.len > b.len;
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return a.idx < b.idx;
  });
  out->routes.clear();
  out->groups.clear();
  uint32_t groupLen = 33;
  for (size_t k = 0; k < rows.size(); k++) {
    const Row& r = rows[k];
    if (k > 0 && rows[k - 1].len == r.len && rows[k - 1].prefix == r.prefix) continue;
    if (r.len != groupLen) {
      const int32_t at = int32_t(out->routes.size());
      out->groups.push_back({maskOf(r.len), at, at});
      groupLen = r.len;
    }
    const native_route_v1& src = routes[r.idx];
    out->routes.push_back({r.prefix, hostBe32(src.via), int32_t(src.dev), src.kind});
    out->groups.back().end = int32_t(out->routes.size());
  }
  out->neighbours.clear();
  for (int32_t i = 0; i < neighbourCount; i++) {
    const native_neighbour_v1& n = neighbours[i];
    out->neighbours.push_back({(uint64_t(n.dev) << 32) | hostBe32(n.ip), hostBe16(n.mac_hi), hostBe32(n.mac_lo)});
  }
  std::sort(out->neighbours.begin(), out->neighbours.end(), [](const Ip4Neighbour& a, const Ip4Neighbour& b) { return a.key < b.key; });
  out->kinds.assign(kinds, kinds + kindCount);
  Ip4NodeView& v = out->view;
  v.routes = out->routes.data();
  v.groups = out->groups.data();
  v.groupCount = int32_t(out->groups.size());
  v.neighbours = out->neighbours.data();
  v.neighbourCount = int32_t(out->neighbours.size());
  v.deviceKinds = out->kinds.data();
  v.deviceCount = kindCount;
}

const Ip4Route* ip4RouteLookup(const Ip4NodeView& t, uint32_t dst) {
  for (int32_t g = 0; g < t.groupCount; g++) {
    const Ip4RouteGroup& grp = t.groups[g];
    const uint32_t key = dst & grp.mask;
    int32_t lo = grp.begin, hi = grp.end;
    while (lo < hi) {
      const int32_t mid = (lo + hi) >> 1;
      const uint32_t pfx = t.routes[mid].prefix;
      if (pfx == key) return &t.routes[mid];
      if (pfx < key) lo = mid + 1;
      else hi = mid;
    }
  }
  return nullptr;
}

static const Ip4Neighbour* neighbourOf(const Ip4NodeView& t, int32_t dev, uint32_t ip) {
  const uint64_t key = (uint64_t(uint32_t(dev)) << 32) | ip;
  int32_t lo = 0, hi = t.neighbourCount;
  while (lo < hi) {
    const int32_t mid = (lo + hi) >> 1;
    const uint64_t k = t.neighbours[mid].key;
    if (k == key) return &t.neighbours[mid];
    if (k < key) lo = mid + 1;
    else hi = mid;
  }
  return nullptr;
}

// src/stages/ip4-lookup.ts
int32_t ip4Lookup(const PoolView& p, const Ip4NodeView& t, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    if (!l3Readable(p, s)) { leave(c, i, &left); continue; }
    const uint32_t dst = rd32(p.slot(s), int64_t(p.l3[s]) + 16);
    const Ip4Route* r = ip4RouteLookup(t, dst);
    if (r == nullptr) { leave(c, i, &left); continue; }  // ICMP network unreachable: TS
    c.handBack[i] = 0;
    if (r->kind == kRouteLocal) {
      // The node's own packet to itself: OUTPUT and POSTROUTING, then the loopback (ip4-lookup.ts).
      if (p.flags[s] & kFlagLocalOut) {
        p.flags[s] |= kFlagLoopback;
        p.next[s] = 2;
      } else {
        p.next[s] = 0;
      }
      continue;
    }
    p.aux0[s] = r->dev;
    p.aux1[s] = int32_t(r->kind == kRouteVia ? r->via : dst);
    p.next[s] = (p.flags[s] & kFlagLocalOut) != 0 ? 2 : 1;
  }
  return left;
}

// src/stages/ip4-output.ts (fragmentation clones slots and emits packets: TS).
int32_t ip4Output(const PoolView& p, const NodeView& node, const Ip4NodeView& t, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    for (int32_t j = i == 0 ? 0 : i + kPacketAhead; j <= i + kPacketAhead && j < c.n; j++) {
      const int32_t t = c.slots[j];
      prefetchSlot(p, t, p.start[t], int64_t(p.start[t]) + 12);  // the L2 header written
      prefetchSlot(p, t, int64_t(p.l3[t]) + 2, int64_t(p.l3[t]) + 4);
    }
    const int32_t s = c.slots[i];
    const int32_t dev = p.aux0[s];
    const int64_t st = p.start[s];
    if (!l3Readable(p, s) || dev < 0 || dev >= node.deviceCount || dev >= t.deviceCount || st < 0 || st + 12 > p.slotBytes) {
      leave(c, i, &left);
      continue;
    }
    const Ip4Neighbour* nb = neighbourOf(t, dev, uint32_t(p.aux1[s]));
    if (nb == nullptr) {
      c.handBack[i] = 0;
      p.next[s] = kNextDrop;
      p.drop[s] = DROP_HOST_UNREACHABLE;
      p.verdict[s] = kVerdictDropped;
      if (DROP_HOST_UNREACHABLE < c.dropsLen) c.drops[DROP_HOST_UNREACHABLE] += 1;
      continue;
    }
    const native_device_v1& d = node.devices[dev];
    const int64_t fragMax = p.aux2[s];
    const int64_t mtu = fragMax > 0 && fragMax < int64_t(d.mtu) ? fragMax : int64_t(d.mtu);
    uint8_t* b = p.slot(s);
    if (int64_t(rd16(b, int64_t(p.l3[s]) + 2)) > mtu) { leave(c, i, &left); continue; }
    c.handBack[i] = 0;
    const uint8_t kind = t.deviceKinds[dev];
    wr16(b, st, nb->macHi);
    wr32(b, st + 2, nb->macLo);
    wr16(b, st + 6, hostBe16(d.mac_hi));
    wr32(b, st + 8, hostBe32(d.mac_lo));
    p.device[s] = dev;
    p.next[s] = kind == kKindHostVeth ? 0 : kind == kKindVxlan ? 1 : 2;
  }
  return left;
}

// src/stages/ip4-local.ts
int32_t ip4Local(const PoolView& p, const Ip4NodeView& t, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    if (!l3Readable(p, s) || !l4PortsReadable(p, s)) { leave(c, i, &left); continue; }
    c.handBack[i] = 0;
    const uint8_t* b = p.slot(s);
    const int64_t l4 = p.l4[s];
    if (t.vxlan && b[p.l3[s] + 9] == kUdp && l4 >= 0 && rd16(b, l4 + 2) == t.tunnelPort) {
      p.next[s] = 0;
    } else {
      p.next[s] = kDone;
      p.verdict[s] = kVerdictForwarded;
    }
  }
  return left;
}

// src/stages/ip4-defrag.ts
int32_t ip4Defrag(const PoolView& p, const Call& c, bool expiryDone) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    if (!expiryDone || !l3Readable(p, s) || (rd16(p.slot(s), int64_t(p.l3[s]) + 6) & 0x3fff) != 0) {
      leave(c, i, &left);
      continue;
    }
    c.handBack[i] = 0;
    p.next[s] = 0;
  }
  return left;
}

// src/stages/nodeport4.ts: the checks before any map lookup, in the same order.
int32_t nodeport4(const PoolView& p, const Ip4NodeView& t, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    if (t.ebpf) {
      if (!l3Readable(p, s) || !l4PortsReadable(p, s)) { leave(c, i, &left); continue; }
      const uint8_t* b = p.slot(s);
      const int64_t l3 = p.l3[s], l4 = p.l4[s];
      const uint32_t proto = b[l3 + 9];
      const uint32_t dst = rd32(b, l3 + 16);
      const int32_t dev = p.device[s];
      const bool pass = l4 < 0 || (proto != kTcp && proto != kUdp) || (dst != t.nodeIp && dst != t.snatIp) || dev < 0;
      if (!pass) {
        if (dev >= t.deviceCount) { leave(c, i, &left); continue; }
        const uint8_t kind = t.deviceKinds[dev];
        const bool outer = proto == kUdp && t.vxlan && rd16(b, l4 + 2) == t.tunnelPort;
        if ((kind == kKindUnderlay || kind == kKindVxlan) && !outer) { leave(c, i, &left); continue; }
      }
    }
    c.handBack[i] = 0;
    p.next[s] = 0;
  }
  return left;
}

// src/stages/ipvs4.ts: aux1 is cleared first for every packet the stage handles.
namespace {

constexpr uint8_t kIpvsTemplate = 1, kIpvsInactive = 2, kIpvsEstablished = 1;

// ConnTable.bucket.
inline uint32_t ipvsBucket(const IpvsView& v, uint32_t proto, uint32_t addr, uint32_t port) {
  uint32_t h = ((addr ^ (proto << 24)) * 0x9e3779b1u) ^ ((port + 0x7f4a7c15u) * 0x85ebca6bu);
  h ^= h >> 15;
  return h & v.mask;
}

// tcpEvent: rst beats syn beats fin beats ack; -1 no state change.
inline int32_t ipvsTcpEvent(uint32_t f) {
  if (f & 0x04) return 3;
  if (f & 0x02) return 0;
  if (f & 0x01) return 1;
  if (f & 0x10) return 2;
  return -1;
}

// May Ipvs.stateTransition run natively: no dest counter moves (active <-> inactive; JavaScript objects).
bool ipvsTransitionNative(const IpvsView& v, int32_t c, uint32_t proto, uint32_t flags, int32_t dir) {
  if (proto != 6) return true;
  const int32_t ev = ipvsTcpEvent(flags);
  if (ev < 0) return true;
  if (v.state[c] >= 11) return false;
  const uint8_t ns = v.tcpStates[(dir * 4 + ev) * 11 + v.state[c]];
  const int32_t si = v.svc[c], di = v.dest[c];
  const bool dest = si >= 0 && si < v.svcCount && di >= 0 && di < v.destCount[si];
  if (!dest) return true;
  const bool inactive = (v.flags[c] & kIpvsInactive) != 0;
  return !((!inactive && ns != kIpvsEstablished) || (inactive && ns == kIpvsEstablished));
}

void ipvsTransition(IpvsView& v, int32_t c, uint32_t proto, uint32_t flags, int32_t dir, double now) {
  if (proto != 6) {
    v.expires[c] = now + v.udp;
    return;
  }
  const int32_t ev = ipvsTcpEvent(flags);
  if (ev >= 0) {
    const uint8_t ns = v.tcpStates[(dir * 4 + ev) * 11 + v.state[c]];
    v.state[c] = ns;
    v.timeout[c] = v.tcpTimeouts[ns];
  }
  v.expires[c] = now + v.timeout[c];
}

}  // namespace

int32_t ipvs4In(const PoolView& p, const Ip4NodeView& t, IpvsView* v, const Call& c, double now, int32_t from, int32_t* runEnd) {
  enum Action { kPass, kReply, kIn, kSwept, kTs };
  int32_t conn = -1, sweptTo = 0;
  auto decide = [&](int32_t s) -> Action {
    if (!t.ipvs) return kPass;
    if (!l3Readable(p, s)) return kTs;
    const uint8_t* b = p.slot(s);
    const int64_t l3 = p.l3[s], l4 = p.l4[s];
    const uint32_t proto = b[l3 + 9];
    if (l4 < 0 || (proto != kTcp && proto != kUdp)) return kPass;
    if (v == nullptr || l4 + 14 > p.slotBytes) return kTs;
    const uint32_t src = rd32(b, l3 + 12), dst = rd32(b, l3 + 16), sport = rd16(b, l4), dport = rd16(b, l4 + 2);
    const uint32_t flags = proto == kTcp ? b[l4 + 13] : 0;
    // lookupReply: findOut (the client is the destination).
    for (int32_t i = v->heads[ipvsBucket(*v, proto, dst, dport)]; i >= 0 && i < v->capacity; i = v->next[i]) {
      if (v->caddr[i] == dst && v->cport[i] == dport && v->daddr[i] == src && v->dport[i] == sport && v->proto[i] == proto &&
          (v->flags[i] & kIpvsTemplate) == 0) {
        if (v->expires[i] <= now || !ipvsTransitionNative(*v, i, proto, flags, 1)) return kTs;
        conn = i;
        return kReply;
      }
    }
    // lookupOrSchedule: the amortised sweep expires nothing (else TS), then findIn.
    int32_t k = v->cursors[1];
    for (int32_t n = 0; n < v->sweep; n++) {
      if (k < 0 || k >= v->capacity) return kTs;
      if (v->used[k] == 1 && v->expires[k] <= now && !((v->flags[k] & kIpvsTemplate) && v->nControl[k] > 0)) return kTs;
      k = k + 1 == v->capacity ? 0 : k + 1;
    }
    sweptTo = k;
    for (int32_t i = v->heads[ipvsBucket(*v, proto, src, sport)]; i >= 0 && i < v->capacity; i = v->next[i]) {
      if (v->caddr[i] == src && v->cport[i] == sport && v->vaddr[i] == dst && v->vport[i] == dport && v->proto[i] == proto &&
          (v->flags[i] & kIpvsTemplate) == 0) {
        if (v->expires[i] <= now || !ipvsTransitionNative(*v, i, proto, flags, 0)) return kTs;
        conn = i;
        return kIn;
      }
    }
    // findService: no virtual server passes; a TCP packet without SYN (or with RST) is not scheduled.
    const uint32_t hi = (proto << 16) | dport;
    uint32_t h = (dst ^ (hi * 0x85ebca6bu)) * 0x9e3779b1u;
    h = (h ^ (h >> 16)) & v->svcMask;
    for (uint32_t probes = 0; v->svcVal[h] >= 0 && probes <= v->svcMask; h = (h + 1) & v->svcMask, probes++) {
      if (v->svcKeyA[h] == dst && v->svcKeyB[h] == hi) return (proto == kTcp && ((flags & 0x02) == 0 || (flags & 0x04) != 0)) ? kSwept : kTs;
    }
    return kSwept;
  };
  Action a = kPass;
  return walkOrdered(c, from, runEnd, noWarm, [&](int32_t s) { return (a = decide(s)) != kTs; },
    [&](int32_t s) {
      if (a != kPass) {
        const uint8_t* b = p.slot(s);
        const uint32_t proto = b[p.l3[s] + 9];
        const uint32_t flags = proto == kTcp ? b[p.l4[s] + 13] : 0;
        // amortisedExpire's cursor moves on past the slots decide() found nothing to expire in.
        if (a == kIn || a == kSwept) v->cursors[1] = sweptTo;
        if (a == kReply) ipvsTransition(*v, conn, proto, flags, 1, now);
        else if (a == kIn) ipvsTransition(*v, conn, proto, flags, 0, now);
      }
      p.aux1[s] = 0;
      p.next[s] = 0;
    });
}

// src/stages/sock4.ts (see ip4.h).
int32_t sock4Connect(const PoolView& p, const Ip4NodeView& t, BpfSockView* sock, const Call& c, int32_t from, int32_t* runEnd) {
  enum Action { kPass, kConnected, kNotService, kTs };
  uint8_t kc[16], ks[12];
  int32_t conn = -1;
  auto decide = [&](int32_t s) -> Action {
    if (!t.ebpf || p.l3[s] < 0 || p.l4[s] < 0) return kPass;
    if (!l3Readable(p, s)) return kTs;
    const uint8_t* b = p.slot(s);
    const int64_t l3 = p.l3[s];
    const uint32_t proto = b[l3 + 9];
    if ((b[l3] >> 4) != 4 || (proto != kTcp && proto != kUdp)) return kPass;
    if (sock == nullptr || !l4PortsReadable(p, s)) return kTs;
    const int64_t l4 = p.l4[s];
    // sock4_conn_key_v1: client_addr, vip (be32), client_port, vport (be16), proto, pad3.
    std::memset(kc, 0, sizeof kc);
    std::memcpy(kc, b + l3 + 12, 8);
    std::memcpy(kc + 8, b + l4, 4);
    kc[12] = uint8_t(proto);
    if (sock->conn.keySize != sizeof kc || sock->services.keySize != sizeof ks) return kTs;
    conn = sock->conn.peek(kc);
    if (conn >= 0) return kConnected;
    // lb4_key_v1: address (be32), dport (be16), backend_slot 0, proto, scope 0, pad2.
    std::memset(ks, 0, sizeof ks);
    std::memcpy(ks, b + l3 + 16, 4);
    std::memcpy(ks + 4, b + l4 + 2, 2);
    ks[8] = uint8_t(proto);
    return sock->services.peek(ks) >= 0 ? kTs : kNotService;
  };
  Action a = kPass;
  return walkOrdered(c, from, runEnd, noWarm, [&](int32_t s) { return (a = decide(s)) != kTs; },
    [&](int32_t s) {
      if (a == kConnected) {
        // connect(): the socket's backend (sock4_conn_v1: backend_addr be32 at 0, backend_port be16 at 8).
        const uint8_t* val = sock->conn.bytes + sock->conn.hit(conn);
        natRewrite(p, s, 1, rd32(val, 0), rd16(val, 8));
      } else if (a == kNotService) {
        // connect(): no socket, then selectBackend's frontend lookup: both misses are counted.
        sock->conn.lookup(kc);
        sock->services.lookup(ks);
      }
      p.next[s] = 0;
    });
}

}  // namespace dpemu
