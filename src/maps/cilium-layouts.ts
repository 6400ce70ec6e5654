/**
 * dpemu's v1 map layouts, modeled on Cilium's (bpf/lib/common.h, bpf/lib/maps.h): same field names,
 * widths, byte order and order, so `cilium bpf lb list`-style dumps and the native addon read them alike.
 * Where Cilium uses a bitfield, v1 has a plain u8/u16 and named bits below. Offsets are pinned by
 * test/maps/layouts.test.ts and tabulated in docs/maps.md; a change is a new `_v2` struct, never an edit.
 */
import { defineStruct } from './schema.js';
import type { StructDef } from './schema.js';
import type { MapKind } from './map-common.js';

/** struct lb4_key: frontend (backend_slot 0) and its backend slots 1..count. */
export const lb4KeyV1 = defineStruct('lb4_key_v1', [
  ['address', 'u32be'], ['dport', 'u16be'], ['backend_slot', 'u16'], ['proto', 'u8'], ['scope', 'u8'], ['pad', 'pad2'],
]);

/** struct lb4_service. backend_id is a union with affinity_timeout / l7_lb_proxy_port (Cilium). */
export const lb4ServiceV1 = defineStruct('lb4_service_v1', [
  ['backend_id', 'u32'], ['count', 'u16'], ['rev_nat_index', 'u16'], ['flags', 'u8'], ['flags2', 'u8'], ['pad', 'pad2'],
]);

/** struct lb4_backend_key { __u32 backend_id; }. */
export const lb4BackendKeyV1 = defineStruct('lb4_backend_key_v1', [['backend_id', 'u32']]);

/** struct lb4_backend (the layout with a 16-bit cluster_id and a zone byte). */
export const lb4BackendV1 = defineStruct('lb4_backend_v1', [
  ['address', 'u32be'], ['port', 'u16be'], ['proto', 'u8'], ['flags', 'u8'], ['cluster_id', 'u16'], ['zone', 'u8'], ['pad', 'pad1'],
]);

/** Key of cilium_lb4_reverse_nat: __u16 rev_nat_index. */
export const lb4RevNatKeyV1 = defineStruct('lb4_reverse_nat_key_v1', [['rev_nat_index', 'u16']]);

/** struct lb4_reverse_nat, __packed in Cilium: 6 bytes. */
export const lb4ReverseNatV1 = defineStruct('lb4_reverse_nat_v1', [['address', 'u32be'], ['port', 'u16be']], { packed: true });

/**
 * struct ipv4_ct_tuple, __packed: 14 bytes. Cilium's note applies: addresses are stored reversed
 * (named for the reply direction), ports are named for the original direction.
 */
export const ipv4CtTupleV1 = defineStruct('ipv4_ct_tuple_v1', [
  ['daddr', 'u32be'], ['saddr', 'u32be'], ['dport', 'u16be'], ['sport', 'u16be'], ['nexthdr', 'u8'], ['flags', 'u8'],
], { packed: true });

/** struct ct_entry; Cilium's 16-bit bitfield (rx_closing ... from_tunnel) is the u16 `flags`, bits CT_F_*. */
export const ctEntryV1 = defineStruct('ct_entry_v1', [
  ['rx_packets', 'u64'], ['rx_bytes', 'u64'], ['tx_packets', 'u64'], ['tx_bytes', 'u64'],
  ['lifetime', 'u32'], ['flags', 'u16'], ['rev_nat_index', 'u16'], ['ifindex', 'u16'],
  ['tx_flags_seen', 'u8'], ['rx_flags_seen', 'u8'], ['src_sec_id', 'u32'],
  ['last_tx_report', 'u32'], ['last_rx_report', 'u32'],
]);

/** ct_entry.flags bits, in Cilium's bitfield order (first declared = bit 0 on little-endian). */
export const CT_F_RX_CLOSING = 1 << 0;
export const CT_F_TX_CLOSING = 1 << 1;
export const CT_F_NAT46 = 1 << 2;
export const CT_F_LB_LOOPBACK = 1 << 3;
export const CT_F_SEEN_NON_SYN = 1 << 4;
export const CT_F_NODE_PORT = 1 << 5;
export const CT_F_PROXY_REDIRECT = 1 << 6;
export const CT_F_DSR = 1 << 7;
export const CT_F_FROM_L7LB = 1 << 8;
export const CT_F_FROM_TUNNEL = 1 << 10;

/** ipv4_ct_tuple.flags (TUPLE_F_*). */
export const TUPLE_F_OUT = 0;
export const TUPLE_F_IN = 1;
export const TUPLE_F_RELATED = 2;
export const TUPLE_F_SERVICE = 4;

/**
 * struct policy_key (LPM): prefixlen covers sec_label, egress, protocol, dport bits after the lpm header
 * (POLICY_FULL_PREFIX = 64). Cilium's `egress:1, pad:7` is the u8 `egress` (0 ingress, 1 egress).
 */
export const policyKeyV1 = defineStruct('policy_key_v1', [
  ['prefixlen', 'u32'], ['sec_label', 'u32'], ['egress', 'u8'], ['protocol', 'u8'], ['dport', 'u16be'],
]);
export const POLICY_FULL_PREFIX = 64;

/** struct policy_entry; `deny:1, wildcard_protocol:1, wildcard_dport:1` is the u8 `flags`, bits POLICY_F_*. */
export const policyEntryV1 = defineStruct('policy_entry_v1', [
  ['proxy_port', 'u16be'], ['flags', 'u8'], ['auth_type', 'u8'], ['pad1', 'pad2'], ['pad2', 'pad2'],
  ['packets', 'u64'], ['bytes', 'u64'],
]);
export const POLICY_F_DENY = 1 << 0;
export const POLICY_F_WILDCARD_PROTOCOL = 1 << 1;
export const POLICY_F_WILDCARD_DPORT = 1 << 2;

/** IPv4 ipcache key: Cilium's struct lpm_v4_key shape (bpf_lpm_trie_key + 4 address bytes). */
export const ipcacheKeyV1 = defineStruct('ipcache_key_v1', [['prefixlen', 'u32'], ['addr', 'u32be']]);

/** struct remote_endpoint_info; Cilium's flag bitfield (flag_skip_tunnel ...) is the u8 `flags`. */
export const remoteEndpointInfoV1 = defineStruct('remote_endpoint_info_v1', [
  ['sec_identity', 'u32'], ['tunnel_endpoint', 'u32be'], ['node_id', 'u16'], ['key', 'u8'], ['flags', 'u8'],
]);
export const IPCACHE_F_SKIP_TUNNEL = 1 << 0;

export interface MapDecl {
  readonly name: string;
  readonly kind: MapKind;
  readonly key: StructDef;
  readonly value: StructDef;
  readonly maxEntries: number;
  /** Cilium's pinned map this one models. */
  readonly cilium: string;
}

/** Typed declarations of the v1 maps (kind, key, value, max entries); max entries are Cilium's defaults. */
export const MAPS_V1 = {
  lb4_services_v1: { name: 'lb4_services_v1', kind: 'hash', key: lb4KeyV1, value: lb4ServiceV1, maxEntries: 65536, cilium: 'cilium_lb4_services_v2' },
  lb4_backends_v1: { name: 'lb4_backends_v1', kind: 'hash', key: lb4BackendKeyV1, value: lb4BackendV1, maxEntries: 65536, cilium: 'cilium_lb4_backends_v3' },
  lb4_reverse_nat_v1: { name: 'lb4_reverse_nat_v1', kind: 'hash', key: lb4RevNatKeyV1, value: lb4ReverseNatV1, maxEntries: 65536, cilium: 'cilium_lb4_reverse_nat' },
  ct4_global_v1: { name: 'ct4_global_v1', kind: 'lru_hash', key: ipv4CtTupleV1, value: ctEntryV1, maxEntries: 524288, cilium: 'cilium_ct4_global' },
  policy_v1: { name: 'policy_v1', kind: 'lpm_trie', key: policyKeyV1, value: policyEntryV1, maxEntries: 16384, cilium: 'cilium_policy_v2_<ep>' },
  ipcache_v1: { name: 'ipcache_v1', kind: 'lpm_trie', key: ipcacheKeyV1, value: remoteEndpointInfoV1, maxEntries: 512000, cilium: 'cilium_ipcache_v2' },
} as const satisfies Record<string, MapDecl>;
