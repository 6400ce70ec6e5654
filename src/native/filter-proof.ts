/**
 * Setup-time proof that a filter chain's walk ACCEPTs every ESTABLISHED packet without side
 * effects, whatever the packet's addresses, ports, protocol and mark: then the native fast path may
 * pass established packets through that hook without walking. The walk is run symbolically over
 * the four ctstates an established packet can have (ESTABLISHED, plus DNAT and/or SNAT) with every
 * other field unknown. A rule is skipped when one of its matches is false for all four before any
 * match with a side effect (statistic draws, recent records); otherwise its target must be
 * side-effect free: ACCEPT, RETURN, or a jump into a chain that itself only ACCEPTs or falls through.
 * Anything else (DROP, REJECT, MARK, NAT, goto, side-effect matches, a DROP policy) -> no proof,
 * and every packet of that hook goes to the TS stage.
 */
import { CT_DNAT, CT_ESTABLISHED, CT_SNAT, type Chain, type Rule, type RuleSet, type TableName } from '../kubeproxy/rule.js';
import { findChain } from '../kubeproxy/walk.js';

const STATES = [CT_ESTABLISHED, CT_ESTABLISHED | CT_DNAT, CT_ESTABLISHED | CT_SNAT, CT_ESTABLISHED | CT_DNAT | CT_SNAT];

type Tri = 'never' | 'always' | 'maybe' | 'unsafe';

/** Does `rule` match an established packet: never, always, maybe, or would a side effect be reached? */
function classify(rule: Rule): Tri {
  let all = true;
  let none = true;
  for (const st of STATES) {
    let v: 'false' | 'true' | 'unknown' = rule.src || rule.dst || rule.protocol ? 'unknown' : 'true';
    for (const m of rule.matches) {
      if (m.kind === 'comment') continue;
      if (m.kind === 'conntrack') {
        if (((st & m.ctstate) !== 0) === m.negate) { v = 'false'; break; }
        continue;
      }
      if (m.kind === 'statistic' || m.kind === 'recent') return 'unsafe';
      v = 'unknown';
    }
    if (v !== 'true') all = false;
    if (v !== 'false') none = false;
  }
  return none ? 'never' : all ? 'always' : 'maybe';
}

/** Possible ends of walking `chain`: ACCEPT and/or falling through (end or RETURN); null if anything else can happen. */
function outcomes(rs: RuleSet, table: TableName, chain: Chain, depth: number): { accept: boolean; through: boolean } | null {
  if (depth > 16) return null;
  const out = { accept: false, through: false };
  for (const rule of chain.rules) {
    const c = classify(rule);
    if (c === 'unsafe') return null;
    if (c === 'never') continue;
    const t = rule.target;
    if (t.kind === 'jump') {
      const sub = findChain(rs, table, t.chain);
      const r = sub ? outcomes(rs, table, sub, depth + 1) : null;
      if (!r) return null;
      out.accept ||= r.accept;
      // Falling through the sub-chain continues here at the next rule, as if the rule had not matched.
      if (r.through || c === 'maybe') continue;
      return out;
    }
    if (t.kind === 'NONE') continue; // no target: no effect, the walk goes on
    if (t.kind === 'ACCEPT') out.accept = true;
    else if (t.kind === 'RETURN') {
      if (c === 'always') { out.through = true; return out; }
      out.through = true;
      continue;
    } else return null;
    if (c === 'always') return out;
  }
  out.through = true;
  return out;
}

/** True when walking built-in `chain` of `table` ends in ACCEPT for every established packet, with no side effect. */
export function establishedAccepts(rs: RuleSet | null, table: TableName, chain: string): boolean {
  if (!rs) return true; // no rules: walk() returns null, filterVerdict accepts
  const start = findChain(rs, table, chain);
  if (!start) return false;
  const r = outcomes(rs, table, start, 0);
  if (!r) return false;
  // Falling off the built-in chain applies its policy.
  return !r.through || start.policy !== 'DROP';
}
