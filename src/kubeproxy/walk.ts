/**
 * Evaluates a RuleSet for one packet the way netfilter walks a table: rules in order, `-j` pushes a
 * return point, `-g` does not, RETURN or the end of a user chain pops, the end of a built-in chain
 * applies its policy. Match order (base matches, then modules as written) is the kernel's, which
 * matters because `statistic` draws a random number only when it is reached.
 */
import type { Prng } from '../util/prng.js';
import { KubeProxyError } from './errors.js';
import type { RecentTable } from './recent.js';
import type { Chain, CidrMatch, Match, Rule, RuleSet, TableName } from './rule.js';

export type PacketProto = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'other';

/** What the rules look at. `mark` is skb->mark: MARK targets change it in place, as in the kernel. */
export interface KpPacket {
  src32: number;
  dst32: number;
  proto: PacketProto;
  sport: number;
  dport: number;
  mark: number;
  /** The source / destination is an address of this node (what `-m addrtype --src-type/--dst-type LOCAL` asks). */
  srcIsLocal: boolean;
  dstIsLocal: boolean;
  /** CT_* bits from rule.ts, e.g. CT_NEW, or CT_ESTABLISHED | CT_DNAT. */
  ctstate: number;
}

export interface WalkContext {
  /** Draws for `-m statistic --mode random` (the scenario's seeded PRNG). */
  rng: Prng;
  /** The node's `-m recent` lists. */
  recent: RecentTable;
  /** Replay time in seconds, for `-m recent`. */
  now: number;
}

export type NatAction =
  | { kind: 'DNAT'; addr: string; addr32: number; port: number }
  | { kind: 'SNAT'; addr: string; addr32: number; port?: number }
  | { kind: 'MASQUERADE'; randomFully: boolean };

export interface WalkResult {
  verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  /** The rule whose target ended the walk; null when a built-in chain's policy did. */
  by: Rule | null;
  /** For REJECT: what the kernel sends back (kube-proxy's bare REJECT is icmp-port-unreachable, even for TCP). */
  rejectWith: 'icmp-port-unreachable' | 'tcp-reset' | null;
  /** nat table only: the translation the terminating rule asked for. */
  nat: NatAction | null;
  /**
   * Every rule that matched, in order (jumps, MARKs and the terminating rule): the trace. The first
   * `matchedCount` entries: a reused result keeps its array (truncating and regrowing it on every
   * walk cost about a third of a short walk), so entries past the count are an earlier walk's.
   */
  matched: Rule[];
  matchedCount: number;
}

/** An empty result, for a caller that reuses one across walks (walkChain's `out`). */
export function newWalkResult(): WalkResult {
  return { verdict: 'ACCEPT', by: null, rejectWith: null, nat: null, matched: [], matchedCount: 0 };
}

const MAX_DEPTH = 64;
/**
 * Chain entries one walk may make (jumps and gotos). A goto does not nest, so a goto cycle never
 * deepens the stack; the kernel refuses such a table at load (ELOOP), dpemu stops the walk here.
 */
const MAX_TRANSFERS = 1 << 16;
/** Return points; the walk is synchronous, so one shared stack serves every call. */
/** Return points as two parallel stacks (no object per jump). */
const STACK_CHAIN: Chain[] = [];
const STACK_NEXT = new Int32Array(MAX_DEPTH + 1);
const indexCache = new WeakMap<RuleSet, Record<TableName, Map<string, Chain>>>();

function chainIndex(rs: RuleSet): Record<TableName, Map<string, Chain>> {
  let idx = indexCache.get(rs);
  if (!idx) {
    idx = { filter: new Map(rs.tables.filter.map((c) => [c.name, c])), nat: new Map(rs.tables.nat.map((c) => [c.name, c])) };
    indexCache.set(rs, idx);
  }
  return idx;
}

export function findChain(rs: RuleSet, table: TableName, name: string): Chain | undefined {
  return chainIndex(rs)[table].get(name);
}

/**
 * A rule as the walk reads it: one object shape for every rule. Rules come in several shapes (src,
 * dst and protocol are optional), so reading their fields in the walk was a megamorphic load each,
 * most of a short walk's time. One copy per rules array, rebuilt when the array's length or one of
 * its elements changes; a rule's own fields are not edited once it is in a table (the renderers
 * finish a rule before returning it).
 */
interface WalkRule {
  readonly src: CidrMatch | null;
  readonly dst: CidrMatch | null;
  readonly protocol: string | null;
  readonly matches: Match[];
  readonly rule: Rule;
}
const walkRulesCache = new WeakMap<Rule[], WalkRule[]>();

function walkRules(rules: Rule[]): WalkRule[] {
  let w = walkRulesCache.get(rules);
  if (w === undefined || w.length !== rules.length) {
    w = rules.map((r) => ({ src: r.src ?? null, dst: r.dst ?? null, protocol: r.protocol ?? null, matches: r.matches, rule: r }));
    walkRulesCache.set(rules, w);
  }
  return w;
}

/** Does `rule` match `pkt`? Side effects as in the kernel: `statistic` draws, `recent --set` records. */
export function matchRule(rule: Rule, pkt: KpPacket, ctx: WalkContext): boolean {
  if (rule.src && cidrHit(rule.src.addr32, rule.src.prefix, pkt.src32) === rule.src.negate) return false;
  if (rule.dst && cidrHit(rule.dst.addr32, rule.dst.prefix, pkt.dst32) === rule.dst.negate) return false;
  if (rule.protocol && rule.protocol !== pkt.proto) return false;
  return matchModules(rule.matches, pkt, ctx);
}

function matchWalkRule(r: WalkRule, pkt: KpPacket, ctx: WalkContext): boolean {
  if (r.src !== null && cidrHit(r.src.addr32, r.src.prefix, pkt.src32) === r.src.negate) return false;
  if (r.dst !== null && cidrHit(r.dst.addr32, r.dst.prefix, pkt.dst32) === r.dst.negate) return false;
  if (r.protocol !== null && r.protocol !== pkt.proto) return false;
  return matchModules(r.matches, pkt, ctx);
}

/** The `-m` matches of a rule, in the order written. */
function matchModules(matches: Match[], pkt: KpPacket, ctx: WalkContext): boolean {
  for (const m of matches) {
    switch (m.kind) {
      case 'comment':
        break;
      case 'l4':
        if (pkt.proto !== m.module) return false;
        if (m.dport !== undefined && (m.dportEnd === undefined ? m.dport !== pkt.dport : pkt.dport < m.dport || pkt.dport > m.dportEnd)) return false;
        if (m.sport !== undefined && m.sport !== pkt.sport) return false;
        break;
      case 'mark':
        if ((((pkt.mark & m.mask) >>> 0) === (m.value >>> 0)) === m.negate) return false;
        break;
      case 'addrtype':
        if (m.srcType && pkt.srcIsLocal === Boolean(m.negateSrc)) return false;
        if (m.dstType && pkt.dstIsLocal === Boolean(m.negateDst)) return false;
        break;
      case 'statistic':
        if (((ctx.rng.nextU32() & 0x7fffffff) >>> 0) >= m.fixed) return false;
        break;
      case 'recent':
        if (m.mode === 'set') ctx.recent.set(m.name, pkt.src32, ctx.now);
        else if (!ctx.recent.rcheck(m.name, pkt.src32, ctx.now, m.seconds, Boolean(m.reap))) return false;
        break;
      case 'conntrack':
        if (((pkt.ctstate & m.ctstate) !== 0) === m.negate) return false;
        break;
    }
  }
  return true;
}

function cidrHit(addr32: number, prefix: number, ip32: number): boolean {
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
  return ((ip32 & mask) >>> 0) === ((addr32 & mask) >>> 0);
}

/** Walks `table`/`chain` (normally a built-in chain) for `pkt` and returns the verdict and the trace. */
export function walkChain(rs: RuleSet, table: TableName, chain: string, pkt: KpPacket, ctx: WalkContext, out?: WalkResult): WalkResult {
  const idx = chainIndex(rs)[table];
  const start = idx.get(chain);
  if (!start) throw new KubeProxyError('KP_UNKNOWN_CHAIN', `kube-proxy: no chain ${chain} in table ${table} of node ${rs.node}`);
  // Pass `out` to reuse one result (and its matched array) across packets: no per-packet allocation.
  const result: WalkResult = out ?? newWalkResult();
  result.verdict = 'ACCEPT';
  result.by = null;
  result.rejectWith = null;
  result.nat = null;
  result.matchedCount = 0;
  const chains = STACK_CHAIN;
  let depth = 0;
  let transfers = 0;
  let cur = start;
  let rules = walkRules(cur.rules);
  let i = 0;
  for (;;) {
    if (i >= cur.rules.length) {
      if (depth === 0) break; // end of the chain we started in: its policy (ACCEPT for every chain kube-proxy touches)
      depth--;
      cur = chains[depth];
      rules = walkRules(cur.rules);
      i = STACK_NEXT[depth];
      continue;
    }
    let wr = rules[i];
    if (wr.rule !== cur.rules[i]) {
      // An element of the array was replaced since the copy was made: copy again.
      walkRulesCache.delete(cur.rules);
      rules = walkRules(cur.rules);
      wr = rules[i];
    }
    i++;
    if (!matchWalkRule(wr, pkt, ctx)) continue;
    const rule = wr.rule;
    result.matched[result.matchedCount++] = rule;
    const t = rule.target;
    switch (t.kind) {
      case 'jump':
      case 'goto': {
        const next = idx.get(t.chain);
        if (!next) throw new KubeProxyError('KP_UNKNOWN_CHAIN', `kube-proxy: rule in ${rule.chain} jumps to missing chain ${t.chain}`);
        if (t.kind === 'jump') {
          if (depth >= MAX_DEPTH) throw new KubeProxyError('KP_CHAIN_LOOP', `kube-proxy: chains nest deeper than ${MAX_DEPTH} at ${t.chain} (a jump loop?)`);
          chains[depth] = cur;
          STACK_NEXT[depth] = i;
          depth++;
        }
        if (depth > MAX_DEPTH) throw new KubeProxyError('KP_CHAIN_LOOP', `kube-proxy: chains nest deeper than ${MAX_DEPTH} at ${t.chain} (a jump loop?)`);
        if (++transfers > MAX_TRANSFERS) throw new KubeProxyError('KP_CHAIN_LOOP', `kube-proxy: more than ${MAX_TRANSFERS} chain entries in one walk at ${t.chain} (a goto loop; the kernel refuses such a table: ELOOP)`);
        cur = next;
        rules = walkRules(cur.rules);
        i = 0;
        break;
      }
      case 'RETURN': {
        if (depth === 0) return finish(result, start, null);
        depth--;
        cur = chains[depth];
        rules = walkRules(cur.rules);
        i = STACK_NEXT[depth];
        break;
      }
      case 'MARK':
        pkt.mark = ((pkt.mark & ~t.args.mask) ^ t.args.value) >>> 0;
        break;
      case 'NONE':
        break;
      case 'ACCEPT':
      case 'DROP':
        result.verdict = t.kind;
        result.by = rule;
        return result;
      case 'REJECT':
        result.verdict = 'REJECT';
        result.by = rule;
        result.rejectWith = t.args.rejectWith;
        return result;
      case 'DNAT':
        result.by = rule;
        result.nat = { kind: 'DNAT', addr: t.args.addr, addr32: t.args.addr32, port: t.args.port };
        return result;
      case 'SNAT':
        result.by = rule;
        result.nat = t.args.port === undefined ? { kind: 'SNAT', addr: t.args.addr, addr32: t.args.addr32 } : { kind: 'SNAT', ...t.args };
        return result;
      case 'MASQUERADE':
        result.by = rule;
        result.nat = { kind: 'MASQUERADE', randomFully: t.args.randomFully };
        return result;
    }
  }
  return finish(result, start, null);
}

function finish(result: WalkResult, start: Chain, by: Rule | null): WalkResult {
  result.verdict = start.policy === 'DROP' ? 'DROP' : 'ACCEPT';
  result.by = by;
  return result;
}
