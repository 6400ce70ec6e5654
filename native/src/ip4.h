// Native twins of the IPv4 routing stages and of the eBPF/IPVS hooks' pass-through cases
// (src/stages/ip4-lookup.ts, ip4-output.ts, ip4-local.ts, ip4-defrag.ts, nodeport4.ts, ipvs4.ts,
// sock4.ts). Every entry point is the SIMPLE form: one call per vector, no state shared between
// packets is read or written, so each packet is either handled exactly as the TS stage handles it
// or left untouched with c.handBack[i] = 1 for the TS stage to run on (in vector order, same
// dispatch). Each returns the number of packets left. No N-API types: a native engine loop can call
// these directly with the views below.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "layouts.h"
#include "bpfmap.h"
#include "pool.h"

namespace dpemu {

// One route of the flat FIB (RouteTable.routes, the first route added for a (prefix, length) only).
struct Ip4Route {
  uint32_t prefix;  // masked
  uint32_t via;
  int32_t dev;
  uint8_t kind;     // RouteKind: 0 LOCAL, 1 LINK, 2 VIA
};
// The routes of one prefix length, [begin, end) of Ip4NodeView.routes sorted by prefix.
struct Ip4RouteGroup {
  uint32_t mask;
  int32_t begin, end;
};
struct Ip4Neighbour {
  uint64_t key;  // device << 32 | next-hop IPv4
  uint32_t macHi, macLo;
};

// What the IPv4 stages read of one cluster node (built once by buildIp4Tables).
struct Ip4NodeView {
  const Ip4Route* routes = nullptr;
  const Ip4RouteGroup* groups = nullptr;  // longest prefix first
  int32_t groupCount = 0;
  const Ip4Neighbour* neighbours = nullptr;  // sorted by key
  int32_t neighbourCount = 0;
  const uint8_t* deviceKinds = nullptr;  // DeviceKind per device id (cluster-wide table)
  int32_t deviceCount = 0;
  bool vxlan = false;       // cluster.tunnel.mode === 'vxlan'
  uint32_t tunnelPort = 0;  // cluster.tunnel.port
  bool ebpf = false;        // ctx.ebpf !== null
  bool ipvs = false;        // ctx.ipvs !== null
  uint32_t nodeIp = 0;      // NodePortLb.isLocal: the node's address and its SNAT (VTEP) address
  uint32_t snatIp = 0;
};

// Owns the arrays an Ip4NodeView points into.
struct Ip4Tables {
  std::vector<Ip4Route> routes;
  std::vector<Ip4RouteGroup> groups;
  std::vector<Ip4Neighbour> neighbours;
  std::vector<uint8_t> kinds;
  Ip4NodeView view;
};

// routes: native_route_v1 rows in RouteTable order; neighbours: native_neighbour_v1 rows; kinds: one
// DeviceKind byte per device. Scalars of the view (vxlan, port, ebpf, ...) are set by the caller.
void buildIp4Tables(const native_route_v1* routes, int32_t routeCount, const native_neighbour_v1* neighbours,
                    int32_t neighbourCount, const uint8_t* kinds, int32_t kindCount, Ip4Tables* out);

// Longest-prefix match as RouteTable.lookup; nullptr when no route.
const Ip4Route* ip4RouteLookup(const Ip4NodeView& t, uint32_t dst);

// ip4-lookup: packets with no route (ICMP network unreachable) are left.
int32_t ip4Lookup(const PoolView& p, const Ip4NodeView& t, const Call& c);
// ip4-output: neighbour, L2 rewrite, egress device and next; packets that need fragmentation are left.
int32_t ip4Output(const PoolView& p, const NodeView& node, const Ip4NodeView& t, const Call& c);
// ip4-local: VXLAN to the tunnel port -> vxlan4-decap, anything else delivered (done, FORWARDED).
int32_t ip4Local(const PoolView& p, const Ip4NodeView& t, const Call& c);
// ip4-defrag: non-fragments pass; fragments are left. expiryDone: the stage's prologue (expireReassembly
// in ip4-defrag.ts: the node's reassembly queues past ipfrag_time at the vector's time are dropped and
// counted) has run for this vector, or the table has no queue; when false every packet is left.
int32_t ip4Defrag(const PoolView& p, const Call& c, bool expiryDone);
// nodeport4: the packets the TS stage passes without a map lookup (no eBPF, not TCP/UDP, not to the
// node, not from the NIC/tunnel device, the VXLAN outer packet); the rest are left.
int32_t nodeport4(const PoolView& p, const Ip4NodeView& t, const Call& c);
// A node's IPVS (src/ipvs/ipvs.ts Ipvs.nativeView): the connection table, the virtual-server hash, the
// per-service dest counts, the sweep size, the TCP state table and timeouts.
struct IpvsView {
  uint8_t* proto = nullptr; uint32_t* caddr = nullptr; uint16_t* cport = nullptr; uint32_t* vaddr = nullptr;
  uint16_t* vport = nullptr; uint32_t* daddr = nullptr; uint16_t* dport = nullptr; uint8_t* state = nullptr;
  uint8_t* flags = nullptr; double* expires = nullptr; double* timeout = nullptr; int32_t* svc = nullptr;
  int32_t* dest = nullptr; int32_t* nControl = nullptr; int32_t* next = nullptr; int32_t* heads = nullptr;
  uint8_t* used = nullptr; int32_t* cursors = nullptr;  // [0] free head, [1] sweep cursor
  int32_t capacity = 0;
  uint32_t mask = 0;  // heads - 1
  const uint32_t* svcKeyA = nullptr; const uint32_t* svcKeyB = nullptr; const int32_t* svcVal = nullptr;
  uint32_t svcMask = 0;
  const int32_t* destCount = nullptr;
  int32_t svcCount = 0;
  int32_t sweep = 0;
  double udp = 0;
  uint8_t tcpStates[8 * 11] = {};
  double tcpTimeouts[12] = {};
};

// ipvs4-in, ordered form (as sock4Connect): aux1 cleared and passed when the node has no IPVS or the packet is
// not TCP/UDP. With `v` (the node's IPVS), a reply of a live connection, a client packet of a live connection
// (after the amortised sweep), one to no virtual server, or a TCP packet without SYN (or with RST) to one, as
// lookupReply/lookupOrSchedule do, when nothing expires and no dest moves between active and inactive.
// Left: scheduling, expiry, dest counter changes (JavaScript objects), and without `v` every TCP/UDP packet.
int32_t ipvs4In(const PoolView& p, const Ip4NodeView& t, IpvsView* v, const Call& c, double now, int32_t from, int32_t* runEnd);
// A node's socket-LB maps (src/ebpf/state.ts): sock4_conn (the connected socket's backend) and lb4_services.
struct BpfSockView {
  BpfHashView conn, services;
};

// sock4-connect, ordered form (returns the index of the first packet the TS stage must take, c.n when
// none; *runEnd the end of the run from there that needs it): passed when the node has no eBPF or the
// packet is not IPv4 TCP/UDP. With `sock` (the node's maps), src/ebpf/state.ts connect() for a connected
// socket (sock4_conn hit: the lookup, then the destination rewritten to the backend) or a destination
// that is no frontend (both lookups miss, counted): the packet passes. Left: a frontend without a
// connected socket (the LB decision) and, without `sock`, every eBPF TCP/UDP packet.
int32_t sock4Connect(const PoolView& p, const Ip4NodeView& t, BpfSockView* sock, const Call& c, int32_t from, int32_t* runEnd);

}  // namespace dpemu
