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
