/**
 * The one table of drop reasons. Codes are stable and never reused. Where Cilium has the same
 * reason, dpemu uses Cilium's number and its flow.proto name (api/v1/flow/flow.proto DropReason),
 * so Hubble tooling shows dpemu's drops as it shows Cilium's; dpemu-only reasons live at 220+.
 * The C++ header for the native fast path is generated from this table (scripts in native/).
 */
export interface DropReasonInfo {
  readonly code: number;
  readonly name: string;
  readonly text: string;
}

const table = [
  // Cilium numbers (flow.proto).
  { code: 131, name: 'INVALID_DESTINATION_MAC', text: 'Invalid destination mac' },
  { code: 132, name: 'INVALID_SOURCE_IP', text: 'Invalid source ip' },
  { code: 133, name: 'POLICY_DENIED', text: 'Policy denied' },
  { code: 134, name: 'INVALID_PACKET_DROPPED', text: 'Invalid packet' },
  { code: 135, name: 'CT_TRUNCATED_OR_INVALID_HEADER', text: 'CT: Truncated or invalid header' },
  { code: 137, name: 'CT_UNKNOWN_L4_PROTOCOL', text: 'CT: Unknown L4 protocol' },
  { code: 139, name: 'UNSUPPORTED_L3_PROTOCOL', text: 'Unsupported L3 protocol' },
  { code: 142, name: 'UNKNOWN_L4_PROTOCOL', text: 'Unknown L4 protocol' },
  { code: 151, name: 'STALE_OR_UNROUTABLE_IP', text: 'Stale or unroutable IP' },
  { code: 152, name: 'NO_MATCHING_LOCAL_CONTAINER_FOUND', text: 'No matching local container found' },
  { code: 155, name: 'CT_MAP_INSERTION_FAILED', text: 'CT: Map insertion failed' },
  { code: 157, name: 'IP_FRAGMENTATION_NOT_SUPPORTED', text: 'IP fragmentation not supported' },
  { code: 158, name: 'SERVICE_BACKEND_NOT_FOUND', text: 'Service backend not found' },
  { code: 160, name: 'NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT', text: 'No tunnel/encapsulation endpoint (datapath BUG!)' },
  { code: 166, name: 'UNSUPPORTED_L2_PROTOCOL', text: 'Unsupported L2 protocol' },
  { code: 167, name: 'NO_MAPPING_FOR_NAT_MASQUERADE', text: 'No mapping for NAT masquerade' },
  { code: 169, name: 'FIB_LOOKUP_FAILED', text: 'FIB lookup failed' },
  { code: 172, name: 'UNKNOWN_SENDER', text: 'Unknown sender' },
  { code: 181, name: 'POLICY_DENY', text: 'Policy denied by denylist' },
  { code: 183, name: 'INVALID_VNI', text: 'Invalid VNI' },
  { code: 196, name: 'TTL_EXCEEDED', text: 'TTL exceeded' },
  // dpemu-only reasons.
  { code: 220, name: 'MALFORMED_FRAME', text: 'Malformed frame (see the parse error)' },
  { code: 221, name: 'FRAG_NEEDED', text: 'Fragmentation needed and DF set (ICMP sent)' },
  { code: 222, name: 'INVALID_VXLAN_FLAGS', text: 'VXLAN header without the I flag' },
  { code: 223, name: 'IPV4_HEADER_CHECKSUM', text: 'Bad IPv4 header checksum' },
  { code: 224, name: 'NOT_FOR_THIS_HOST', text: 'Frame addressed to another host (PACKET_OTHERHOST)' },
  { code: 225, name: 'NO_LISTENER', text: 'No socket listening on the local port' },
  { code: 226, name: 'FRAME_TOO_LARGE', text: 'Frame larger than the emulator buffer' },
  { code: 227, name: 'CT_TABLE_FULL', text: 'conntrack table full' },
  { code: 228, name: 'CT_INVALID', text: 'conntrack state INVALID' },
  { code: 229, name: 'REJECTED', text: 'Rejected by rule (ICMP or RST sent)' },
  { code: 230, name: 'RULE_DROP', text: 'Dropped by rule' },
  { code: 231, name: 'HOST_UNREACHABLE', text: 'No neighbour for next hop' },
  { code: 232, name: 'ARP_NOT_ANSWERED', text: 'ARP request not answered' },
  { code: 233, name: 'FRAG_REASSEMBLY_TIMEOUT', text: 'Fragments expired before reassembly (ipfrag_time)' },
  { code: 234, name: 'FRAG_REASSEMBLY_FAILED', text: 'Fragment overlaps or exceeds 65535 bytes' },
] as const satisfies readonly DropReasonInfo[];

export type DropReasonName = (typeof table)[number]['name'];

/** name -> code, e.g. `Drop.POLICY_DENIED === 133`. */
export const Drop = Object.freeze(
  Object.fromEntries(table.map((r) => [r.name, r.code])) as { readonly [K in DropReasonName]: number },
);

export const DROP_REASONS: readonly DropReasonInfo[] = table;

const byCode = new Map<number, DropReasonInfo>(table.map((r) => [r.code, r]));

export function dropReasonInfo(code: number): DropReasonInfo {
  return byCode.get(code) ?? { code, name: `DROP_REASON_${code}`, text: `Unknown drop reason ${code}` };
}

/** Largest code, so counters can be flat arrays indexed by code. */
export const MAX_DROP_CODE = Math.max(...table.map((r) => r.code));

/** docs/drop-reasons.md is generated from this table (`npm run gen`); a test fails if they drift. */
export function renderDropReasonsMarkdown(): string {
  const rows = DROP_REASONS.map((r) => `| ${r.code} | \`${r.name}\` | ${r.text} |`);
  return [
    '# Drop reasons',
    '',
    'Generated from `src/engine/drop-reasons.ts` by `npm run gen`; do not edit by hand.',
    'Codes below 220 are Cilium\'s (flow.proto `DropReason`), so Hubble shows them by name;',
    'dpemu-only reasons start at 220 and appear in Hubble JSON as numbers.',
    '',
    '| code | name | text |',
    '|---:|---|---|',
    ...rows,
    '',
  ].join('\n');
}
