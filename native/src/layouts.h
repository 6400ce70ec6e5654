// Generated from src/native/layouts.ts and src/maps/cilium-layouts.ts by `npm run gen`; do not edit by hand.

#pragma once
#include <cstddef>
#include <cstdint>

namespace dpemu {

struct native_device_v1 {
  uint32_t mtu;
  uint16_t mac_hi;  // network order
  uint8_t pad[2];
  uint32_t mac_lo;  // network order
};
static_assert(sizeof(native_device_v1) == 12, "native_device_v1 size");
static_assert(offsetof(native_device_v1, mtu) == 0, "native_device_v1.mtu offset");
static_assert(offsetof(native_device_v1, mac_hi) == 4, "native_device_v1.mac_hi offset");
static_assert(offsetof(native_device_v1, pad) == 6, "native_device_v1.pad offset");
static_assert(offsetof(native_device_v1, mac_lo) == 8, "native_device_v1.mac_lo offset");

struct native_fdb_entry_v1 {
  uint32_t remote;  // network order
  uint16_t mac_hi;  // network order
  uint16_t outer_mac_hi;  // network order
  uint32_t mac_lo;  // network order
  uint32_t outer_mac_lo;  // network order
};
static_assert(sizeof(native_fdb_entry_v1) == 16, "native_fdb_entry_v1 size");
static_assert(offsetof(native_fdb_entry_v1, remote) == 0, "native_fdb_entry_v1.remote offset");
static_assert(offsetof(native_fdb_entry_v1, mac_hi) == 4, "native_fdb_entry_v1.mac_hi offset");
static_assert(offsetof(native_fdb_entry_v1, outer_mac_hi) == 6, "native_fdb_entry_v1.outer_mac_hi offset");
static_assert(offsetof(native_fdb_entry_v1, mac_lo) == 8, "native_fdb_entry_v1.mac_lo offset");
static_assert(offsetof(native_fdb_entry_v1, outer_mac_lo) == 12, "native_fdb_entry_v1.outer_mac_lo offset");

struct native_route_v1 {
  uint32_t prefix;  // network order
  uint32_t via;  // network order
  uint32_t dev;
  uint8_t len;
  uint8_t kind;
  uint8_t pad[2];
};
static_assert(sizeof(native_route_v1) == 16, "native_route_v1 size");
static_assert(offsetof(native_route_v1, prefix) == 0, "native_route_v1.prefix offset");
static_assert(offsetof(native_route_v1, via) == 4, "native_route_v1.via offset");
static_assert(offsetof(native_route_v1, dev) == 8, "native_route_v1.dev offset");
static_assert(offsetof(native_route_v1, len) == 12, "native_route_v1.len offset");
static_assert(offsetof(native_route_v1, kind) == 13, "native_route_v1.kind offset");
static_assert(offsetof(native_route_v1, pad) == 14, "native_route_v1.pad offset");

struct native_neighbour_v1 {
  uint32_t ip;  // network order
  uint32_t dev;
  uint16_t mac_hi;  // network order
  uint8_t pad[2];
  uint32_t mac_lo;  // network order
};
static_assert(sizeof(native_neighbour_v1) == 16, "native_neighbour_v1 size");
static_assert(offsetof(native_neighbour_v1, ip) == 0, "native_neighbour_v1.ip offset");
static_assert(offsetof(native_neighbour_v1, dev) == 4, "native_neighbour_v1.dev offset");
static_assert(offsetof(native_neighbour_v1, mac_hi) == 8, "native_neighbour_v1.mac_hi offset");
static_assert(offsetof(native_neighbour_v1, pad) == 10, "native_neighbour_v1.pad offset");
static_assert(offsetof(native_neighbour_v1, mac_lo) == 12, "native_neighbour_v1.mac_lo offset");

struct lb4_key_v1 {
  uint32_t address;  // network order
  uint16_t dport;  // network order
  uint16_t backend_slot;
  uint8_t proto;
  uint8_t scope;
  uint8_t pad[2];
};
static_assert(sizeof(lb4_key_v1) == 12, "lb4_key_v1 size");
static_assert(offsetof(lb4_key_v1, address) == 0, "lb4_key_v1.address offset");
static_assert(offsetof(lb4_key_v1, dport) == 4, "lb4_key_v1.dport offset");
static_assert(offsetof(lb4_key_v1, backend_slot) == 6, "lb4_key_v1.backend_slot offset");
static_assert(offsetof(lb4_key_v1, proto) == 8, "lb4_key_v1.proto offset");
static_assert(offsetof(lb4_key_v1, scope) == 9, "lb4_key_v1.scope offset");
static_assert(offsetof(lb4_key_v1, pad) == 10, "lb4_key_v1.pad offset");

struct lb4_service_v1 {
  uint32_t backend_id;
  uint16_t count;
  uint16_t rev_nat_index;
  uint8_t flags;
  uint8_t flags2;
  uint8_t pad[2];
};
static_assert(sizeof(lb4_service_v1) == 12, "lb4_service_v1 size");
static_assert(offsetof(lb4_service_v1, backend_id) == 0, "lb4_service_v1.backend_id offset");
static_assert(offsetof(lb4_service_v1, count) == 4, "lb4_service_v1.count offset");
static_assert(offsetof(lb4_service_v1, rev_nat_index) == 6, "lb4_service_v1.rev_nat_index offset");
static_assert(offsetof(lb4_service_v1, flags) == 8, "lb4_service_v1.flags offset");
static_assert(offsetof(lb4_service_v1, flags2) == 9, "lb4_service_v1.flags2 offset");
static_assert(offsetof(lb4_service_v1, pad) == 10, "lb4_service_v1.pad offset");

struct lb4_backend_key_v1 {
  uint32_t backend_id;
};
static_assert(sizeof(lb4_backend_key_v1) == 4, "lb4_backend_key_v1 size");
static_assert(offsetof(lb4_backend_key_v1, backend_id) == 0, "lb4_backend_key_v1.backend_id offset");

struct lb4_backend_v1 {
  uint32_t address;  // network order
  uint16_t port;  // network order
  uint8_t proto;
  uint8_t flags;
  uint16_t cluster_id;
  uint8_t zone;
  uint8_t pad[1];
};
static_assert(sizeof(lb4_backend_v1) == 12, "lb4_backend_v1 size");
static_assert(offsetof(lb4_backend_v1, address) == 0, "lb4_backend_v1.address offset");
static_assert(offsetof(lb4_backend_v1, port) == 4, "lb4_backend_v1.port offset");
static_assert(offsetof(lb4_backend_v1, proto) == 6, "lb4_backend_v1.proto offset");
static_assert(offsetof(lb4_backend_v1, flags) == 7, "lb4_backend_v1.flags offset");
static_assert(offsetof(lb4_backend_v1, cluster_id) == 8, "lb4_backend_v1.cluster_id offset");
static_assert(offsetof(lb4_backend_v1, zone) == 10, "lb4_backend_v1.zone offset");
static_assert(offsetof(lb4_backend_v1, pad) == 11, "lb4_backend_v1.pad offset");

struct lb4_reverse_nat_key_v1 {
  uint16_t rev_nat_index;
};
static_assert(sizeof(lb4_reverse_nat_key_v1) == 2, "lb4_reverse_nat_key_v1 size");
static_assert(offsetof(lb4_reverse_nat_key_v1, rev_nat_index) == 0, "lb4_reverse_nat_key_v1.rev_nat_index offset");

struct __attribute__((packed)) lb4_reverse_nat_v1 {
  uint32_t address;  // network order
  uint16_t port;  // network order
};
static_assert(sizeof(lb4_reverse_nat_v1) == 6, "lb4_reverse_nat_v1 size");
static_assert(offsetof(lb4_reverse_nat_v1, address) == 0, "lb4_reverse_nat_v1.address offset");
static_assert(offsetof(lb4_reverse_nat_v1, port) == 4, "lb4_reverse_nat_v1.port offset");

struct __attribute__((packed)) ipv4_ct_tuple_v1 {
  uint32_t daddr;  // network order
  uint32_t saddr;  // network order
  uint16_t dport;  // network order
  uint16_t sport;  // network order
  uint8_t nexthdr;
  uint8_t flags;
};
static_assert(sizeof(ipv4_ct_tuple_v1) == 14, "ipv4_ct_tuple_v1 size");
static_assert(offsetof(ipv4_ct_tuple_v1, daddr) == 0, "ipv4_ct_tuple_v1.daddr offset");
static_assert(offsetof(ipv4_ct_tuple_v1, saddr) == 4, "ipv4_ct_tuple_v1.saddr offset");
static_assert(offsetof(ipv4_ct_tuple_v1, dport) == 8, "ipv4_ct_tuple_v1.dport offset");
static_assert(offsetof(ipv4_ct_tuple_v1, sport) == 10, "ipv4_ct_tuple_v1.sport offset");
static_assert(offsetof(ipv4_ct_tuple_v1, nexthdr) == 12, "ipv4_ct_tuple_v1.nexthdr offset");
static_assert(offsetof(ipv4_ct_tuple_v1, flags) == 13, "ipv4_ct_tuple_v1.flags offset");

struct ct_entry_v1 {
  uint64_t rx_packets;
  uint64_t rx_bytes;
  uint64_t tx_packets;
  uint64_t tx_bytes;
  uint32_t lifetime;
  uint16_t flags;
  uint16_t rev_nat_index;
  uint16_t ifindex;
  uint8_t tx_flags_seen;
  uint8_t rx_flags_seen;
  uint32_t src_sec_id;
  uint32_t last_tx_report;
  uint32_t last_rx_report;
};
static_assert(sizeof(ct_entry_v1) == 56, "ct_entry_v1 size");
static_assert(offsetof(ct_entry_v1, rx_packets) == 0, "ct_entry_v1.rx_packets offset");
static_assert(offsetof(ct_entry_v1, rx_bytes) == 8, "ct_entry_v1.rx_bytes offset");
static_assert(offsetof(ct_entry_v1, tx_packets) == 16, "ct_entry_v1.tx_packets offset");
static_assert(offsetof(ct_entry_v1, tx_bytes) == 24, "ct_entry_v1.tx_bytes offset");
static_assert(offsetof(ct_entry_v1, lifetime) == 32, "ct_entry_v1.lifetime offset");
static_assert(offsetof(ct_entry_v1, flags) == 36, "ct_entry_v1.flags offset");
static_assert(offsetof(ct_entry_v1, rev_nat_index) == 38, "ct_entry_v1.rev_nat_index offset");
static_assert(offsetof(ct_entry_v1, ifindex) == 40, "ct_entry_v1.ifindex offset");
static_assert(offsetof(ct_entry_v1, tx_flags_seen) == 42, "ct_entry_v1.tx_flags_seen offset");
static_assert(offsetof(ct_entry_v1, rx_flags_seen) == 43, "ct_entry_v1.rx_flags_seen offset");
static_assert(offsetof(ct_entry_v1, src_sec_id) == 44, "ct_entry_v1.src_sec_id offset");
static_assert(offsetof(ct_entry_v1, last_tx_report) == 48, "ct_entry_v1.last_tx_report offset");
static_assert(offsetof(ct_entry_v1, last_rx_report) == 52, "ct_entry_v1.last_rx_report offset");

struct policy_key_v1 {
  uint32_t prefixlen;
  uint32_t sec_label;
  uint8_t egress;
  uint8_t protocol;
  uint16_t dport;  // network order
};
static_assert(sizeof(policy_key_v1) == 12, "policy_key_v1 size");
static_assert(offsetof(policy_key_v1, prefixlen) == 0, "policy_key_v1.prefixlen offset");
static_assert(offsetof(policy_key_v1, sec_label) == 4, "policy_key_v1.sec_label offset");
static_assert(offsetof(policy_key_v1, egress) == 8, "policy_key_v1.egress offset");
static_assert(offsetof(policy_key_v1, protocol) == 9, "policy_key_v1.protocol offset");
static_assert(offsetof(policy_key_v1, dport) == 10, "policy_key_v1.dport offset");

struct policy_entry_v1 {
  uint16_t proxy_port;  // network order
  uint8_t flags;
  uint8_t auth_type;
  uint8_t pad1[2];
  uint8_t pad2[2];
  uint64_t packets;
  uint64_t bytes;
};
static_assert(sizeof(policy_entry_v1) == 24, "policy_entry_v1 size");
static_assert(offsetof(policy_entry_v1, proxy_port) == 0, "policy_entry_v1.proxy_port offset");
static_assert(offsetof(policy_entry_v1, flags) == 2, "policy_entry_v1.flags offset");
static_assert(offsetof(policy_entry_v1, auth_type) == 3, "policy_entry_v1.auth_type offset");
static_assert(offsetof(policy_entry_v1, pad1) == 4, "policy_entry_v1.pad1 offset");
static_assert(offsetof(policy_entry_v1, pad2) == 6, "policy_entry_v1.pad2 offset");
static_assert(offsetof(policy_entry_v1, packets) == 8, "policy_entry_v1.packets offset");
static_assert(offsetof(policy_entry_v1, bytes) == 16, "policy_entry_v1.bytes offset");

struct ipcache_key_v1 {
  uint32_t prefixlen;
  uint32_t addr;  // network order
};
static_assert(sizeof(ipcache_key_v1) == 8, "ipcache_key_v1 size");
static_assert(offsetof(ipcache_key_v1, prefixlen) == 0, "ipcache_key_v1.prefixlen offset");
static_assert(offsetof(ipcache_key_v1, addr) == 4, "ipcache_key_v1.addr offset");

struct remote_endpoint_info_v1 {
  uint32_t sec_identity;
  uint32_t tunnel_endpoint;  // network order
  uint16_t node_id;
  uint8_t key;
  uint8_t flags;
};
static_assert(sizeof(remote_endpoint_info_v1) == 12, "remote_endpoint_info_v1 size");
static_assert(offsetof(remote_endpoint_info_v1, sec_identity) == 0, "remote_endpoint_info_v1.sec_identity offset");
static_assert(offsetof(remote_endpoint_info_v1, tunnel_endpoint) == 4, "remote_endpoint_info_v1.tunnel_endpoint offset");
static_assert(offsetof(remote_endpoint_info_v1, node_id) == 8, "remote_endpoint_info_v1.node_id offset");
static_assert(offsetof(remote_endpoint_info_v1, key) == 10, "remote_endpoint_info_v1.key offset");
static_assert(offsetof(remote_endpoint_info_v1, flags) == 11, "remote_endpoint_info_v1.flags offset");

// S(struct) for every struct and X(struct, field) for every field: the addon exports
// sizeof/offsetof from these, so the test compares what the compiler laid out.
#define DPEMU_STRUCTS(S) \
  S(native_device_v1) \
  S(native_fdb_entry_v1) \
  S(native_route_v1) \
  S(native_neighbour_v1) \
  S(lb4_key_v1) \
  S(lb4_service_v1) \
  S(lb4_backend_key_v1) \
  S(lb4_backend_v1) \
  S(lb4_reverse_nat_key_v1) \
  S(lb4_reverse_nat_v1) \
  S(ipv4_ct_tuple_v1) \
  S(ct_entry_v1) \
  S(policy_key_v1) \
  S(policy_entry_v1) \
  S(ipcache_key_v1) \
  S(remote_endpoint_info_v1)

#define DPEMU_FIELDS(X) \
  X(native_device_v1, mtu) \
  X(native_device_v1, mac_hi) \
  X(native_device_v1, pad) \
  X(native_device_v1, mac_lo) \
  X(native_fdb_entry_v1, remote) \
  X(native_fdb_entry_v1, mac_hi) \
  X(native_fdb_entry_v1, outer_mac_hi) \
  X(native_fdb_entry_v1, mac_lo) \
  X(native_fdb_entry_v1, outer_mac_lo) \
  X(native_route_v1, prefix) \
  X(native_route_v1, via) \
  X(native_route_v1, dev) \
  X(native_route_v1, len) \
  X(native_route_v1, kind) \
  X(native_route_v1, pad) \
  X(native_neighbour_v1, ip) \
  X(native_neighbour_v1, dev) \
  X(native_neighbour_v1, mac_hi) \
  X(native_neighbour_v1, pad) \
  X(native_neighbour_v1, mac_lo) \
  X(lb4_key_v1, address) \
  X(lb4_key_v1, dport) \
  X(lb4_key_v1, backend_slot) \
  X(lb4_key_v1, proto) \
  X(lb4_key_v1, scope) \
  X(lb4_key_v1, pad) \
  X(lb4_service_v1, backend_id) \
  X(lb4_service_v1, count) \
  X(lb4_service_v1, rev_nat_index) \
  X(lb4_service_v1, flags) \
  X(lb4_service_v1, flags2) \
  X(lb4_service_v1, pad) \
  X(lb4_backend_key_v1, backend_id) \
  X(lb4_backend_v1, address) \
  X(lb4_backend_v1, port) \
  X(lb4_backend_v1, proto) \
  X(lb4_backend_v1, flags) \
  X(lb4_backend_v1, cluster_id) \
  X(lb4_backend_v1, zone) \
  X(lb4_backend_v1, pad) \
  X(lb4_reverse_nat_key_v1, rev_nat_index) \
  X(lb4_reverse_nat_v1, address) \
  X(lb4_reverse_nat_v1, port) \
  X(ipv4_ct_tuple_v1, daddr) \
  X(ipv4_ct_tuple_v1, saddr) \
  X(ipv4_ct_tuple_v1, dport) \
  X(ipv4_ct_tuple_v1, sport) \
  X(ipv4_ct_tuple_v1, nexthdr) \
  X(ipv4_ct_tuple_v1, flags) \
  X(ct_entry_v1, rx_packets) \
  X(ct_entry_v1, rx_bytes) \
  X(ct_entry_v1, tx_packets) \
  X(ct_entry_v1, tx_bytes) \
  X(ct_entry_v1, lifetime) \
  X(ct_entry_v1, flags) \
  X(ct_entry_v1, rev_nat_index) \
  X(ct_entry_v1, ifindex) \
  X(ct_entry_v1, tx_flags_seen) \
  X(ct_entry_v1, rx_flags_seen) \
  X(ct_entry_v1, src_sec_id) \
  X(ct_entry_v1, last_tx_report) \
  X(ct_entry_v1, last_rx_report) \
  X(policy_key_v1, prefixlen) \
  X(policy_key_v1, sec_label) \
  X(policy_key_v1, egress) \
  X(policy_key_v1, protocol) \
  X(policy_key_v1, dport) \
  X(policy_entry_v1, proxy_port) \
  X(policy_entry_v1, flags) \
  X(policy_entry_v1, auth_type) \
  X(policy_entry_v1, pad1) \
  X(policy_entry_v1, pad2) \
  X(policy_entry_v1, packets) \
  X(policy_entry_v1, bytes) \
  X(ipcache_key_v1, prefixlen) \
  X(ipcache_key_v1, addr) \
  X(remote_endpoint_info_v1, sec_identity) \
  X(remote_endpoint_info_v1, tunnel_endpoint) \
  X(remote_endpoint_info_v1, node_id) \
  X(remote_endpoint_info_v1, key) \
  X(remote_endpoint_info_v1, flags)

}  // namespace dpemu
