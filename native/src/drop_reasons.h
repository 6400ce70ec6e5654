// Generated from src/engine/drop-reasons.ts by `npm run gen`; do not edit by hand.

#pragma once
#include <cstdint>

namespace dpemu {

enum DropReason : uint16_t {
  DROP_INVALID_DESTINATION_MAC = 131,  // Invalid destination mac
  DROP_INVALID_SOURCE_IP = 132,  // Invalid source ip
  DROP_POLICY_DENIED = 133,  // Policy denied
  DROP_INVALID_PACKET_DROPPED = 134,  // Invalid packet
  DROP_CT_TRUNCATED_OR_INVALID_HEADER = 135,  // CT: Truncated or invalid header
  DROP_CT_UNKNOWN_L4_PROTOCOL = 137,  // CT: Unknown L4 protocol
  DROP_UNSUPPORTED_L3_PROTOCOL = 139,  // Unsupported L3 protocol
  DROP_UNKNOWN_L4_PROTOCOL = 142,  // Unknown L4 protocol
  DROP_STALE_OR_UNROUTABLE_IP = 151,  // Stale or unroutable IP
  DROP_NO_MATCHING_LOCAL_CONTAINER_FOUND = 152,  // No matching local container found
  DROP_CT_MAP_INSERTION_FAILED = 155,  // CT: Map insertion failed
  DROP_IP_FRAGMENTATION_NOT_SUPPORTED = 157,  // IP fragmentation not supported
  DROP_SERVICE_BACKEND_NOT_FOUND = 158,  // Service backend not found
  DROP_NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT = 160,  // No tunnel/encapsulation endpoint (datapath BUG!)
  DROP_UNSUPPORTED_L2_PROTOCOL = 166,  // Unsupported L2 protocol
  DROP_NO_MAPPING_FOR_NAT_MASQUERADE = 167,  // No mapping for NAT masquerade
  DROP_FIB_LOOKUP_FAILED = 169,  // FIB lookup failed
  DROP_UNKNOWN_SENDER = 172,  // Unknown sender
  DROP_POLICY_DENY = 181,  // Policy denied by denylist
  DROP_INVALID_VNI = 183,  // Invalid VNI
  DROP_TTL_EXCEEDED = 196,  // TTL exceeded
  DROP_MALFORMED_FRAME = 220,  // Malformed frame (see the parse error)
  DROP_FRAG_NEEDED = 221,  // Fragmentation needed and DF set (ICMP sent)
  DROP_INVALID_VXLAN_FLAGS = 222,  // VXLAN header without the I flag
  DROP_IPV4_HEADER_CHECKSUM = 223,  // Bad IPv4 header checksum
  DROP_NOT_FOR_THIS_HOST = 224,  // Frame addressed to another host (PACKET_OTHERHOST)
  DROP_NO_LISTENER = 225,  // No socket listening on the local port
  DROP_FRAME_TOO_LARGE = 226,  // Frame larger than the emulator buffer
  DROP_CT_TABLE_FULL = 227,  // conntrack table full
  DROP_CT_INVALID = 228,  // conntrack state INVALID
  DROP_REJECTED = 229,  // Rejected by rule (ICMP or RST sent)
  DROP_RULE_DROP = 230,  // Dropped by rule
  DROP_HOST_UNREACHABLE = 231,  // No neighbour for next hop
  DROP_ARP_NOT_ANSWERED = 232,  // ARP request not answered
  DROP_FRAG_REASSEMBLY_TIMEOUT = 233,  // Fragments expired before reassembly (ipfrag_time)
  DROP_FRAG_REASSEMBLY_FAILED = 234,  // Fragment overlaps or exceeds 65535 bytes
};

constexpr uint16_t kMaxDropCode = 234;

// X(code, name) for every reason, so the addon can export its table for the drift test.
#define DPEMU_DROP_REASONS(X) \
  X(131, INVALID_DESTINATION_MAC) \
  X(132, INVALID_SOURCE_IP) \
  X(133, POLICY_DENIED) \
  X(134, INVALID_PACKET_DROPPED) \
  X(135, CT_TRUNCATED_OR_INVALID_HEADER) \
  X(137, CT_UNKNOWN_L4_PROTOCOL) \
  X(139, UNSUPPORTED_L3_PROTOCOL) \
  X(142, UNKNOWN_L4_PROTOCOL) \
  X(151, STALE_OR_UNROUTABLE_IP) \
  X(152, NO_MATCHING_LOCAL_CONTAINER_FOUND) \
  X(155, CT_MAP_INSERTION_FAILED) \
  X(157, IP_FRAGMENTATION_NOT_SUPPORTED) \
  X(158, SERVICE_BACKEND_NOT_FOUND) \
  X(160, NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT) \
  X(166, UNSUPPORTED_L2_PROTOCOL) \
  X(167, NO_MAPPING_FOR_NAT_MASQUERADE) \
  X(169, FIB_LOOKUP_FAILED) \
  X(172, UNKNOWN_SENDER) \
  X(181, POLICY_DENY) \
  X(183, INVALID_VNI) \
  X(196, TTL_EXCEEDED) \
  X(220, MALFORMED_FRAME) \
  X(221, FRAG_NEEDED) \
  X(222, INVALID_VXLAN_FLAGS) \
  X(223, IPV4_HEADER_CHECKSUM) \
  X(224, NOT_FOR_THIS_HOST) \
  X(225, NO_LISTENER) \
  X(226, FRAME_TOO_LARGE) \
  X(227, CT_TABLE_FULL) \
  X(228, CT_INVALID) \
  X(229, REJECTED) \
  X(230, RULE_DROP) \
  X(231, HOST_UNREACHABLE) \
  X(232, ARP_NOT_ANSWERED) \
  X(233, FRAG_REASSEMBLY_TIMEOUT) \
  X(234, FRAG_REASSEMBLY_FAILED)

}  // namespace dpemu
