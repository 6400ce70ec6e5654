// Native twins of the stages at the edges of a node: where a frame enters the cluster
// (frame-input), the veth pair and underlay wire that move a frame between devices and nodes
// (veth-xmit, underlay-xmit), and network policy for packets of established flows (policy4-*).
// They read the cluster's device table (src/dataplane/devices.ts) through a DeviceView, attached
// once (attachDevices in addon.cc, table built by deviceTable() in src/native/stages.ts).
// Capture observation (rt.observe) stays in TypeScript: the wrappers observe in the TS stage's
// packet order from what these functions wrote (pool.device, pool.next).
#pragma once
#include <cstdint>
#include "bpfmap.h"
#include "pool.h"

namespace dpemu {

// One device: kind (DeviceKind: 0 pod eth0, 1 host veth, 2 vxlan, 3 underlay), node, peer (-1 none),
// 1 when the device belongs to a pod, then the MAC as 16-bit high and 32-bit low halves.
constexpr int32_t kDeviceStride = 6;
enum : int32_t { kDevKind = 0, kDevNode = 1, kDevPeer = 2, kDevHasPod = 3, kDevMacHi = 4, kDevMacLo = 5 };
constexpr int32_t kKindPodEth0 = 0, kKindHostVeth = 1, kKindVxlan = 2, kKindUnderlay = 3;

struct DeviceView {
  const int32_t* info = nullptr;  // count * kDeviceStride
  int32_t count = 0;
  const int32_t* nicOf = nullptr;  // node index -> its underlay NIC (the order of DeviceTable.nicOf)
  int32_t nodeCount = 0;
  uint32_t vxlanPort = 0;  // the UDP port the nodes' parser decodes as VXLAN (cluster.tunnel.port)
  int32_t kind(int32_t d) const { return info[d * kDeviceStride + kDevKind]; }
  int32_t node(int32_t d) const { return info[d * kDeviceStride + kDevNode]; }
  int32_t peer(int32_t d) const { return info[d * kDeviceStride + kDevPeer]; }
  bool hasPod(int32_t d) const { return info[d * kDeviceStride + kDevHasPod] != 0; }
  bool macIs(int32_t d, const uint8_t* b, int64_t o) const {
    const uint32_t hi = (uint32_t(b[o]) << 8) | b[o + 1];
    const uint32_t lo = (uint32_t(b[o + 2]) << 24) | (uint32_t(b[o + 3]) << 16) | (uint32_t(b[o + 4]) << 8) | b[o + 5];
    return uint32_t(info[d * kDeviceStride + kDevMacHi]) == hi && uint32_t(info[d * kDeviceStride + kDevMacLo]) == lo;
  }
};

// Simple form (returns the number of packets left, marked in c.handBack).
// src/stages/frame-input.ts: the parse of Ethernet (+ up to 4 VLAN tags) / IPv4 / TCP / UDP / ICMP
// (and the L3 offset of other IPv4 protocols and non-first fragments) with parsePacket's l3/l4
// offsets; attach at a preset device or by source MAC of a pod eth0 / node NIC. Left: private
// buffers, parse errors, anything the parse does not cover (ARP, IPv6, LLC, tunnels, ICMP errors,
// IPv4 total length 0 or beyond the frame), attach by source IP and unknown senders.
// Packets it gives next = 1 (received at a node device) are to be observed (device, 0) by the caller.
int32_t frameInput(const PoolView& p, const DeviceView& d, const Call& c);

// A node's eBPF conntrack maps (cilium_ct4_global for TCP, cilium_ct_any4_global for the rest) and
// Cilium's lifetimes in seconds (the cluster's `ebpf` settings), for policy4's per-packet record.
struct BpfCtView {
  BpfHashView tcp, any;
  uint32_t lifeTcp = 0, lifeTcpSyn = 0, lifeTcpFin = 0, lifeAny = 0;
};

// Simple form. src/stages/veth.ts: device <- peer; host veth -> next 0, pod eth0 -> done FORWARDED.
// The caller observes (from, 1) then (to, 0) per packet. Left: a device outside the table.
int32_t vethXmit(const PoolView& p, const DeviceView& d, const Call& c);

// Simple form. src/stages/underlay.ts for unicast frames sent by NIC device `nic` (the node's): to
// the NIC with the destination MAC (node, device, LOCAL_OUT cleared, next 0) or out of the cluster
// (device = the sending NIC, done FORWARDED). The caller observes (nic, 1) then, for next 0,
// (device, 0). Left: group (broadcast/multicast) destinations, which flood copies.
int32_t underlayXmit(const PoolView& p, const DeviceView& d, const Call& c, int32_t nic);

// Ordered form (returns the index of the first packet the TS stage must take, c.n when none, and
// in *runEnd the end of the run of packets from there that all need it): src/stages/policy4.ts
// on a node with no eBPF state and no flow waiting for the L7 proxy (the caller checks those), in
// the iptables policy model. Pass (next 0): every packet when the cluster has no policy engine
// (!policyOn); else egress from a device that is not a pod's host veth, ingress to a device without
// a pod, a tracked packet that is not NEW (the flow's first verdict holds), a NEW/untracked packet
// of an endpoint no policy selects in that direction (open[device] bit 0 egress, bit 1 ingress: its
// chain ACCEPTs every new flow), or one the policy does not decide (not TCP/UDP/ICMP/SCTP, no L4).
// Left: NEW and untracked packets the policy decides (a walk of its chains), devices outside the table.
//
// With `ebpf` (kube-proxy ebpf mode: the node has eBPF state), every pod endpoint is enforced as the TS
// stage does, and a tracked packet that is not NEW gets bpf_lxc's record in ct4_global / ct_any4
// (src/ebpf/state.ts ctRecord on an existing entry: the map lookup with its stats and LRU touch, the
// rx or tx counters, flags seen, SEEN_NON_SYN, lifetime from `now`); RELATED packets pass unrecorded.
// Left: NEW and untracked packets (policy decision, entry creation) and records whose entry is missing.
// Without eBPF state the decisions left are deferred and the walk goes on (walkDeferring, pool.h: a
// decision writes only its packet and, for an L7 REDIRECT, its own flow's proxy state); with it, the
// first one stops the walk (ct4_global's LRU order depends on the order of every record).
int32_t policy4Established(const PoolView& p, const DeviceView& d, const Call& c, int32_t from, bool egress, bool policyOn,
                           const uint8_t* open, int32_t openLen, BpfCtView* ebpf, double now, int32_t* runEnd, int32_t* deferred);

}  // namespace dpemu
