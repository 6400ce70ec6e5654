/**
 * Socket-LB maps that src/maps/cilium-layouts.ts does not declare (MAPS_V1 is shared; these are owned by the
 * eBPF node state). Field names follow Cilium's bpf/lib/lb.h where Cilium has the map:
 *  - lb4_reverse_sk_v1 models `cilium_lb4_reverse_sk` (struct ipv4_revnat_tuple -> ipv4_revnat_entry). Cilium keys
 *    it by socket cookie; dpemu has no sockets, so the "cookie" is the connected socket's identity: client
 *    address and port, backend address and port, protocol.
 *  - lb4_affinity_v1 models `cilium_lb4_affinity` (struct lb4_affinity_key -> lb_affinity_val). Cilium's socket
 *    LB keys it by network-namespace cookie; a pod is one netns with one address, so dpemu keys by client IP.
 *  - sock4_conn_v1 has no Cilium map: it stands in for the connected socket's destination (sk_daddr/sk_dport),
 *    which the kernel keeps in the socket. A replayed capture still addresses later packets to the VIP, so
 *    this map turns them into "the socket already points at the backend".
 */
import { defineStruct } from '../maps/schema.js';

export const lb4ReverseSkKeyV1 = defineStruct('lb4_reverse_sk_key_v1', [
  ['client_addr', 'u32be'], ['backend_addr', 'u32be'], ['client_port', 'u16be'], ['backend_port', 'u16be'],
  ['proto', 'u8'], ['pad', 'pad3'],
]);

/** struct ipv4_revnat_entry: the Service address the socket believes it is connected to. */
export const lb4ReverseSkV1 = defineStruct('lb4_reverse_sk_v1', [
  ['address', 'u32be'], ['port', 'u16be'], ['rev_nat_index', 'u16'],
]);

export const lb4AffinityKeyV1 = defineStruct('lb4_affinity_key_v1', [
  ['client_addr', 'u32be'], ['rev_nat_id', 'u16'], ['netns', 'u8'], ['pad', 'pad1'],
]);

/** struct lb_affinity_val: last_used in milliseconds of capture time (Cilium: bpf_mono_now()). */
export const lbAffinityValV1 = defineStruct('lb_affinity_val_v1', [
  ['last_used', 'u64'], ['backend_id', 'u32'], ['pad', 'pad4'],
]);

export const sock4ConnKeyV1 = defineStruct('sock4_conn_key_v1', [
  ['client_addr', 'u32be'], ['vip', 'u32be'], ['client_port', 'u16be'], ['vport', 'u16be'], ['proto', 'u8'], ['pad', 'pad3'],
]);

export const sock4ConnV1 = defineStruct('sock4_conn_v1', [
  ['backend_addr', 'u32be'], ['backend_id', 'u32'], ['backend_port', 'u16be'], ['rev_nat_index', 'u16'], ['slot', 'u16'], ['pad', 'pad2'],
]);

/** lb4_service.flags (SVC_FLAG_*), Cilium's bit values. */
export const SVC_FLAG_EXTERNAL_IP = 1 << 0;
export const SVC_FLAG_NODEPORT = 1 << 1;
export const SVC_FLAG_EXT_LOCAL_SCOPE = 1 << 2;
export const SVC_FLAG_HOSTPORT = 1 << 3;
export const SVC_FLAG_AFFINITY = 1 << 4;
export const SVC_FLAG_LOADBALANCER = 1 << 5;
export const SVC_FLAG_ROUTABLE = 1 << 6;
/** lb4_service.flags2. */
export const SVC_FLAG_INT_LOCAL_SCOPE = 1 << 4;

/**
 * cilium_snat_v4_external (dpemu `snat_v4_external_v1`): key struct ipv4_ct_tuple (ipv4CtTupleV1), value
 * struct ipv4_nat_entry: nat_entry {created, needs_ct, pad1, pad2} then the union {to_saddr, to_sport} (an
 * egress entry, tuple flags TUPLE_F_OUT: the original source becomes addr:port) / {to_daddr, to_dport} (an
 * ingress entry, TUPLE_F_IN: the reply's destination goes back to addr:port). `created` is in seconds of
 * capture time (Cilium: bpf_mono_now()). Two entries per mapping, as snat_v4_new_mapping writes them.
 */
export const ipv4NatEntryV1 = defineStruct('ipv4_nat_entry_v1', [
  ['created', 'u64'], ['needs_ct', 'u64'], ['pad1', 'u64'], ['pad2', 'u64'],
  ['addr', 'u32be'], ['port', 'u16be'], ['pad3', 'pad2'],
]);

/** lb4_service.flags2: the service has an external and an internal scope (externalTrafficPolicy Local). */
export const SVC_FLAG_TWO_SCOPES = 1 << 5;

/** Cilium's NodePort SNAT port range (NODEPORT_PORT_MIN_NAT .. NODEPORT_PORT_MAX_NAT). */
export const NODEPORT_PORT_MIN_NAT = 32768;
export const NODEPORT_PORT_MAX_NAT = 65535;
/** snat_v4_new_mapping's port-collision retries (SNAT_COLLISION_RETRIES). */
export const SNAT_COLLISION_RETRIES = 128;
