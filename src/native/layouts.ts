/**
 * Layouts of the tables the native fast path reads besides the packet pool: the node's device
 * table (MAC, MTU) and its VXLAN FDB joined with the underlay neighbour (inner MAC -> remote VTEP,
 * outer MAC). Written as struct schemas like the Cilium maps, so the C++ structs are generated from
 * them (native/src/layouts.h) and a test compares the compiled sizeof/offsetof with these.
 */
import { defineStruct, type StructDef } from '../maps/schema.js';
import { MAPS_V1 } from '../maps/cilium-layouts.js';

/** One device: MAC as a 16-bit high part and 32-bit low part (network order), MTU. */
export const nativeDeviceV1 = defineStruct('native_device_v1', [
  ['mtu', 'u32'], ['mac_hi', 'u16be'], ['pad', 'pad2'], ['mac_lo', 'u32be'],
]);

/** One FDB entry: inner destination MAC -> remote VTEP address and the underlay neighbour's MAC. */
export const nativeFdbEntryV1 = defineStruct('native_fdb_entry_v1', [
  ['remote', 'u32be'], ['mac_hi', 'u16be'], ['outer_mac_hi', 'u16be'], ['mac_lo', 'u32be'], ['outer_mac_lo', 'u32be'],
]);

/**
 * One IPv4 route of a node's FIB (src/dataplane/routes.ts), for the native ip4-lookup: prefix (already
 * masked), gateway, egress device, prefix length and RouteKind. Rows are in RouteTable order (the
 * route index); the addon sorts its own copy by prefix length for the longest match.
 */
export const nativeRouteV1 = defineStruct('native_route_v1', [
  ['prefix', 'u32be'], ['via', 'u32be'], ['dev', 'u32'], ['len', 'u8'], ['kind', 'u8'], ['pad', 'pad2'],
]);

/** One static neighbour (node-context.ts `neighbours`): (device, next-hop IPv4) -> MAC, for the native ip4-output. */
export const nativeNeighbourV1 = defineStruct('native_neighbour_v1', [
  ['ip', 'u32be'], ['dev', 'u32'], ['mac_hi', 'u16be'], ['pad', 'pad2'], ['mac_lo', 'u32be'],
]);

/** Every struct the addon is compiled with: the native tables and the Cilium v1 map keys/values. */
export function nativeStructs(): StructDef[] {
  const out: StructDef[] = [nativeDeviceV1, nativeFdbEntryV1, nativeRouteV1, nativeNeighbourV1];
  const seen = new Set<string>(out.map((s) => s.name));
  for (const m of Object.values(MAPS_V1)) {
    for (const s of [m.key, m.value] as StructDef[]) {
      if (!seen.has(s.name)) {
        seen.add(s.name);
        out.push(s);
      }
    }
  }
  return out;
}
