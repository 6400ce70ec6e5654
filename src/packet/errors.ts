/**
 * The one table of packet parse errors. A parse error is data written into the PacketView, never an exception.
 * Numbers are stable: append new rows, never renumber or reuse (the C++ addon and traces carry the number).
 */
export const PARSE_ERROR_TABLE = [
  [0, 'OK', 'no error'],
  [1, 'PACKET_TOO_SHORT', 'frame has no captured bytes'],
  [2, 'ETH_TRUNCATED', 'Ethernet header truncated (needs 14 bytes)'],
  [3, 'VLAN_TRUNCATED', '802.1Q/802.1ad tag truncated'],
  [4, 'TOO_MANY_VLAN_TAGS', 'more stacked VLAN tags than dpemu keeps (4)'],
  [5, 'SLL_TRUNCATED', 'Linux cooked (SLL/SLL2) header truncated'],
  [6, 'NULL_TRUNCATED', 'BSD NULL/LOOP header truncated'],
  [7, 'UNSUPPORTED_LINKTYPE', 'link type not dissected by dpemu'],
  [8, 'UNKNOWN_NULL_FAMILY', 'BSD NULL/LOOP address family is not IPv4/IPv6'],
  [9, 'ARP_TRUNCATED', 'ARP header or addresses truncated'],
  [10, 'BAD_IP_VERSION', 'IP version nibble does not match the link-layer type'],
  [11, 'IPV4_TRUNCATED', 'IPv4 header truncated'],
  [12, 'BAD_IHL', 'IPv4 header length below 20 bytes'],
  [13, 'BAD_IPV4_TOTAL_LENGTH', 'IPv4 total length below header length or beyond the frame'],
  [14, 'IPV6_TRUNCATED', 'IPv6 fixed header truncated'],
  [15, 'BAD_IPV6_PAYLOAD_LENGTH', 'IPv6 payload length beyond the frame'],
  [16, 'IPV6_EXT_TRUNCATED', 'IPv6 extension header truncated'],
  [17, 'TCP_TRUNCATED', 'TCP header truncated'],
  [18, 'BAD_TCP_DATA_OFFSET', 'TCP data offset below 5 words or beyond the IP payload'],
  [19, 'UDP_TRUNCATED', 'UDP header truncated'],
  [20, 'BAD_UDP_LENGTH', 'UDP length below 8 or beyond the IP payload'],
  [21, 'ICMP_TRUNCATED', 'ICMP/ICMPv6 header truncated'],
  [22, 'VXLAN_TRUNCATED', 'VXLAN header truncated'],
  [23, 'UNKNOWN_VXLAN_FLAGS', 'VXLAN I flag clear or reserved bits set (Linux vxlan_rcv drops these)'],
  [24, 'GENEVE_TRUNCATED', 'GENEVE header or options truncated'],
  [25, 'BAD_GENEVE_VERSION', 'GENEVE version is not 0'],
  [26, 'TOO_MANY_LAYERS', 'more nested tunnel/quoted layers than dpemu keeps (4)'],
  [27, 'NFLOG_TRUNCATED', 'NFLOG header or TLV truncated'],
  [28, 'NO_NETWORK_LAYER', 'frame of a non-Ethernet link type carries no IPv4, IPv6 or ARP to deliver'],
] as const;

type Row = (typeof PARSE_ERROR_TABLE)[number];
export type ParseErrorName = Row[1];
export type ParseErrorCode = Row[0];

/** Name -> stable number, e.g. `ParseError.TCP_TRUNCATED === 17`. */
export const ParseError = Object.freeze(
  Object.fromEntries(PARSE_ERROR_TABLE.map((r) => [r[1], r[0]])),
) as { readonly [R in Row as R[1]]: R[0] };

const NAMES: string[] = [];
const TEXTS: string[] = [];
for (const [code, name, text] of PARSE_ERROR_TABLE) {
  NAMES[code] = name;
  TEXTS[code] = text;
}

/** Stable name of a parse error number (`UNKNOWN_<n>` for numbers not in the table). */
export function parseErrorName(code: number): string {
  return NAMES[code] ?? `UNKNOWN_${code}`;
}

/** Human text of a parse error number. */
export function parseErrorText(code: number): string {
  return TEXTS[code] ?? `unknown parse error ${code}`;
}
