/**
 * A node's iptables filter table compiled to the flat program the addon walks (native/src/nffilter.h):
 * the same RuleSet src/kubeproxy/walk.ts evaluates, rule for rule and match for match, so the native
 * walk is walkChain's. What the native walker must not do itself is encoded so that it hands the
 * packet to the TypeScript stage: statistic and recent matches (side effects), DROP/REJECT/NAT
 * targets, jumps to missing chains. Built once per node at setup, like the rules themselves
 * (ctx.rules and ctx.localAddrs are fixed for a context's life).
 */
import { establishedAccepts } from './filter-proof.js';
import type { Chain, Match, Rule, RuleSet } from '../kubeproxy/rule.js';

/** Mirrors nff:: in native/src/nffilter.h (a rule is 10 words, then 6 per match). */
const R_SRC = 1, R_SRC_NEG = 2, R_DST = 4, R_DST_NEG = 8;
const M_L4 = 1, M_MARK = 2, M_ADDRTYPE = 3, M_CONNTRACK = 4, M_SIDE_EFFECT = 5;
const L4_DPORT = 1, L4_DPORT_END = 2, L4_SPORT = 4;
const AT_SRC = 1, AT_SRC_NEG = 2, AT_DST = 4, AT_DST_NEG = 8;
const T_JUMP = 1, T_GOTO = 2, T_RETURN = 3, T_MARK = 4, T_ACCEPT = 5, T_OTHER = 6;

const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, sctp: 132 };

export interface FilterProgram {
  readonly words: Uint32Array;
  readonly local: Uint32Array;
  /** false: the node has no rules (walk() returns null and the hooks accept). */
  readonly present: boolean;
  readonly input: number;
  readonly output: number;
  readonly forward: number;
  /**
   * filter-proof.ts holds for FORWARD: the walk ACCEPTs every ESTABLISHED packet with no side effect and
   * no MARK, so nf4-forward passes those without walking (the walk would give the same).
   */
  readonly forwardEstablished: boolean;
}

function cidrMask(prefix: number): number {
  return prefix === 0 ? 0 : prefix === 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
}

function matchWords(m: Match, out: number[]): void {
  switch (m.kind) {
    case 'comment': return;
    case 'l4': {
      const flags = (m.dport !== undefined ? L4_DPORT : 0) | (m.dportEnd !== undefined ? L4_DPORT_END : 0) | (m.sport !== undefined ? L4_SPORT : 0);
      out.push(M_L4, PROTO[m.module] ?? 0, flags, m.dport ?? 0, m.dportEnd ?? 0, m.sport ?? 0);
      return;
    }
    case 'mark':
      out.push(M_MARK, m.value >>> 0, m.mask >>> 0, m.negate ? 1 : 0, 0, 0);
      return;
    case 'addrtype': {
      const flags = (m.srcType ? AT_SRC : 0) | (m.negateSrc ? AT_SRC_NEG : 0) | (m.dstType ? AT_DST : 0) | (m.negateDst ? AT_DST_NEG : 0);
      out.push(M_ADDRTYPE, flags, 0, 0, 0, 0);
      return;
    }
    case 'conntrack':
      out.push(M_CONNTRACK, m.ctstate >>> 0, m.negate ? 1 : 0, 0, 0, 0);
      return;
    default:
      // statistic, recent (and any kind added later): the walk would have a side effect here.
      out.push(M_SIDE_EFFECT, 0, 0, 0, 0, 0);
  }
}

function ruleWords(rule: Rule, index: Map<string, number>, out: number[]): void {
  const at = out.length;
  let flags = 0;
  let sa = 0, sm = 0, da = 0, dm = 0;
  if (rule.src) {
    flags |= R_SRC | (rule.src.negate ? R_SRC_NEG : 0);
    sm = cidrMask(rule.src.prefix);
    sa = (rule.src.addr32 & sm) >>> 0;
  }
  if (rule.dst) {
    flags |= R_DST | (rule.dst.negate ? R_DST_NEG : 0);
    dm = cidrMask(rule.dst.prefix);
    da = (rule.dst.addr32 & dm) >>> 0;
  }
  let target = T_OTHER, a = 0, b = 0;
  const t = rule.target;
  switch (t.kind) {
    case 'jump':
    case 'goto': {
      const c = index.get(t.chain);
      if (c !== undefined) {
        target = t.kind === 'jump' ? T_JUMP : T_GOTO;
        a = c;
      }
      break;
    }
    case 'RETURN': target = T_RETURN; break;
    case 'MARK': target = T_MARK; a = t.args.value >>> 0; b = t.args.mask >>> 0; break;
    case 'NONE': target = T_MARK; a = 0; b = 0; break; // no target: counts and goes on, as MARK 0/0 (mark unchanged)
    case 'ACCEPT': target = T_ACCEPT; break;
    default: break; // DROP, REJECT, DNAT, SNAT, MASQUERADE: the TS stage
  }
  out.push(flags, sa, sm, da, dm, rule.protocol ? PROTO[rule.protocol] ?? 0xffffffff : 0, target, a, b, 0);
  let nm = 0;
  for (const m of rule.matches) {
    const before = out.length;
    matchWords(m, out);
    if (out.length > before) nm++;
  }
  out[at + 9] = nm;
}

/** Compiles `rules`' filter table (null: no rules) with the node's local addresses. */
export function compileFilter(rules: RuleSet | null, localAddrs: ReadonlySet<number>): FilterProgram {
  const local = Uint32Array.from([...localAddrs].map((a) => a >>> 0));
  if (!rules) return { words: new Uint32Array([0]), local, present: false, input: -1, output: -1, forward: -1, forwardEstablished: true };
  const chains: Chain[] = rules.tables.filter;
  const index = new Map<string, number>();
  // walk.ts's chain index keeps the last chain of a name (new Map over the list); so does this one.
  chains.forEach((c, i) => index.set(c.name, i));
  const head = 1 + 3 * chains.length;
  const out: number[] = new Array<number>(head).fill(0);
  out[0] = chains.length;
  chains.forEach((c, i) => {
    out[1 + 3 * i] = out.length;
    for (const r of c.rules) ruleWords(r, index, out);
    out[2 + 3 * i] = out.length;
    out[3 + 3 * i] = c.policy === 'DROP' ? 1 : 0;
  });
  const at = (name: string): number => index.get(name) ?? -1;
  return { words: Uint32Array.from(out), local, present: true, input: at('INPUT'), output: at('OUTPUT'), forward: at('FORWARD'), forwardEstablished: establishedAccepts(rules, 'filter', 'FORWARD') };
}
