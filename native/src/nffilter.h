// A node's iptables filter table as a flat program (built by src/native/filter-program.ts from the
// same RuleSet src/kubeproxy/walk.ts walks), and a walker that evaluates it for one packet exactly
// as walkChain does. The walker is pure: it reports ACCEPT (with the resulting skb mark) only when
// the walk ends in ACCEPT without reaching anything with a side effect or anything the TypeScript
// stage must do itself (statistic/recent matches, NAT targets, DROP/REJECT, a missing chain, nesting
// past walk.ts's MAX_DEPTH); otherwise the caller hands the packet to the TS stage untouched.
#pragma once
#include <cstdint>

namespace dpemu {

// Program layout (Uint32Array words), see src/native/filter-program.ts:
//   words[0] = chain count C; chain c at 1 + 3c: [first rule word, end word, policy (1 = DROP)]
//   rule at o: [flags, srcAddr, srcMask, dstAddr, dstMask, proto, target, targetA, targetB, nMatches]
//              then nMatches records of kFilterMatchWords words: [kind, a, b, c, d, e]
namespace nff {
constexpr uint32_t kRuleWords = 10, kMatchWords = 6;
constexpr uint32_t R_SRC = 1, R_SRC_NEG = 2, R_DST = 4, R_DST_NEG = 8;
constexpr uint32_t M_L4 = 1, M_MARK = 2, M_ADDRTYPE = 3, M_CONNTRACK = 4, M_SIDE_EFFECT = 5;
constexpr uint32_t L4_DPORT = 1, L4_DPORT_END = 2, L4_SPORT = 4;
constexpr uint32_t AT_SRC = 1, AT_SRC_NEG = 2, AT_DST = 4, AT_DST_NEG = 8;
constexpr uint32_t T_JUMP = 1, T_GOTO = 2, T_RETURN = 3, T_MARK = 4, T_ACCEPT = 5, T_OTHER = 6;
constexpr uint32_t PROTO_OTHER = 256;  // packet protocol no rule names (walk.ts 'other')
constexpr int32_t kMaxDepth = 64;       // walk.ts MAX_DEPTH
// src/kubeproxy/rule.ts CT_* bits
constexpr uint32_t CT_INVALID = 1, CT_NEW = 2, CT_ESTABLISHED = 4, CT_RELATED = 8, CT_SNAT = 32, CT_DNAT = 64;
}  // namespace nff

struct FilterView {
  const uint32_t* words = nullptr;
  int32_t len = 0;
  const uint32_t* local = nullptr;  // the node's local addresses (ctx.localAddrs)
  int32_t localCount = 0;
  bool present = false;             // false: the node has no rules (walk() returns null: ACCEPT, mark untouched)
  int32_t input = -1, output = -1, forward = -1;  // built-in chains; -1 missing (walk.ts throws: TS)
  bool forwardEstablished = false;  // filter-proof.ts: FORWARD ACCEPTs every established packet, no side effect, no MARK
};

// What fillKp (src/stages/netfilter-common.ts) gives the walk.
struct FilterPacket {
  uint32_t src, dst, proto, sport, dport, mark, ctstate;
};

// walkChain(rules, 'filter', chain, pkt) for a packet: true when it ends in ACCEPT with nothing the
// TS stage must do; *mark receives the packet's mark after the walk (MARK targets). Reads only.
bool filterAccepts(const FilterView& f, int32_t chain, const FilterPacket& pk, uint32_t* mark);

// fillKp's ctstate: pool ctinfo (255 untracked) plus the entry's NAT bits (status, 0 when untracked).
inline uint32_t filterCtstate(uint8_t ctinfo, uint32_t status) {
  uint32_t st;
  if (ctinfo == 255) st = nff::CT_INVALID;
  else if (ctinfo == 2) st = nff::CT_NEW;
  else if (ctinfo == 1 || ctinfo == 4) st = nff::CT_RELATED;
  else st = nff::CT_ESTABLISHED;
  if (status & (1u << 5)) st |= nff::CT_DNAT;  // IPS_DST_NAT
  if (status & (1u << 4)) st |= nff::CT_SNAT;  // IPS_SRC_NAT
  return st;
}

// fillKp's protocol: tcp/udp/icmp/sctp by number, anything else matches no rule protocol.
inline uint32_t filterProto(uint32_t p) { return (p == 6 || p == 17 || p == 1 || p == 132) ? p : nff::PROTO_OTHER; }

}  // namespace dpemu
