#include "nffilter.h"

namespace dpemu {
namespace {

inline bool isLocal(const FilterView& f, uint32_t a) {
  for (int32_t i = 0; i < f.localCount; i++) if (f.local[i] == a) return true;
  return false;
}

enum class Hit { No, Yes, Abort };

// walk.ts matchRule, base matches then modules in order; Abort where a side effect would happen.
Hit matchRule(const FilterView& f, const uint32_t* r, const FilterPacket& pk, uint32_t mark) {
  using namespace nff;
  const uint32_t fl = r[0];
  if ((fl & R_SRC) && ((pk.src & r[2]) == r[1]) == bool(fl & R_SRC_NEG)) return Hit::No;
  if ((fl & R_DST) && ((pk.dst & r[4]) == r[3]) == bool(fl & R_DST_NEG)) return Hit::No;
  if (r[5] != 0 && r[5] != pk.proto) return Hit::No;
  const uint32_t nm = r[9];
  const uint32_t* m = r + kRuleWords;
  for (uint32_t k = 0; k < nm; k++, m += kMatchWords) {
    switch (m[0]) {
      case M_L4:
        if (pk.proto != m[1]) return Hit::No;
        if (m[2] & L4_DPORT) {
          if (m[2] & L4_DPORT_END) { if (pk.dport < m[3] || pk.dport > m[4]) return Hit::No; }
          else if (pk.dport != m[3]) return Hit::No;
        }
        if ((m[2] & L4_SPORT) && pk.sport != m[5]) return Hit::No;
        break;
      case M_MARK:
        if (((mark & m[2]) == m[1]) == bool(m[3])) return Hit::No;
        break;
      case M_ADDRTYPE:
        if ((m[1] & AT_SRC) && isLocal(f, pk.src) == bool(m[1] & AT_SRC_NEG)) return Hit::No;
        if ((m[1] & AT_DST) && isLocal(f, pk.dst) == bool(m[1] & AT_DST_NEG)) return Hit::No;
        break;
      case M_CONNTRACK:
        if (((pk.ctstate & m[1]) != 0) == bool(m[2])) return Hit::No;
        break;
      default:
        return Hit::Abort;  // statistic draws, recent records, or a match kind the program does not know
    }
  }
  return Hit::Yes;
}

}  // namespace

bool filterAccepts(const FilterView& f, int32_t chain, const FilterPacket& pk, uint32_t* markOut) {
  using namespace nff;
  const uint32_t* w = f.words;
  const uint32_t nChains = w[0];
  if (chain < 0 || uint32_t(chain) >= nChains) return false;
  uint32_t mark = pk.mark;
  uint32_t stackNext[kMaxDepth + 1];
  uint32_t stackEnd[kMaxDepth + 1];
  int32_t depth = 0;
  const uint32_t* start = w + 1 + 3 * uint32_t(chain);
  uint32_t o = start[0], end = start[1];
  // A goto cycle never ends in walk.ts either; bound the work and leave such a packet to TS.
  uint32_t budget = 1u << 20;
  for (;;) {
    if (--budget == 0) return false;
    if (o >= end) {
      if (depth == 0) break;
      depth--;
      o = stackNext[depth];
      end = stackEnd[depth];
      continue;
    }
    const uint32_t* r = w + o;
    o += kRuleWords + r[9] * kMatchWords;
    const Hit h = matchRule(f, r, pk, mark);
    if (h == Hit::Abort) return false;
    if (h == Hit::No) continue;
    switch (r[6]) {
      case T_JUMP:
      case T_GOTO: {
        const uint32_t c = r[7];
        if (c >= nChains) return false;  // missing chain: walk.ts throws
        if (r[6] == T_JUMP) {
          if (depth >= kMaxDepth) return false;
          stackNext[depth] = o;
          stackEnd[depth] = end;
          depth++;
        }
        const uint32_t* ch = w + 1 + 3 * c;
        o = ch[0];
        end = ch[1];
        break;
      }
      case T_RETURN:
        if (depth == 0) goto done;
        depth--;
        o = stackNext[depth];
        end = stackEnd[depth];
        break;
      case T_MARK:
        mark = (mark & ~r[8]) ^ r[7];
        break;
      case T_ACCEPT:
        *markOut = mark;
        return true;
      default:
        return false;  // DROP, REJECT, NAT targets: the TS stage
    }
  }
done:
  if (start[2] != 0) return false;  // policy DROP
  *markOut = mark;
  return true;
}

}  // namespace dpemu
