/**
 * Rules as data. One structure serves both printers (iptables-save text) and the per-packet chain
 * walker, so what dpemu prints is exactly what it evaluates.
 *
 * Field meanings follow iptables: a Rule's base matches (-s/-d/-p) come first, then `matches` in the
 * order kube-proxy wrote them (iptables-save keeps that order), then the target.
 */

export type TableName = 'filter' | 'nat';
/** 'icmp' is only written by the policy model (`-p icmp` with no module). */
export type RuleProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp';

export interface CidrMatch {
  /** Network address as dotted text (already masked). */
  addr: string;
  addr32: number;
  prefix: number;
  negate: boolean;
}

/** conntrack states as bits (the kernel's XT_CONNTRACK_STATE_* idea; a packet can be NEW|DNAT). */
export const CT_INVALID = 1;
export const CT_NEW = 2;
export const CT_ESTABLISHED = 4;
export const CT_RELATED = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 32;
export const CT_DNAT = 64;

/** The order iptables-save prints states in (libxt_conntrack's print order). */
export const CT_STATE_NAMES: ReadonlyArray<readonly [number, string]> = [
  [CT_INVALID, 'INVALID'],
  [CT_NEW, 'NEW'],
  [CT_RELATED, 'RELATED'],
  [CT_ESTABLISHED, 'ESTABLISHED'],
  [CT_UNTRACKED, 'UNTRACKED'],
  [CT_SNAT, 'SNAT'],
  [CT_DNAT, 'DNAT'],
];

export type Match =
  | { kind: 'comment'; comment: string }
  /** `-m tcp|udp|sctp [--dport N]`: the protocol module; `-p` is the Rule's protocol field. */
  /** `dportEnd` (optional, used by the policy model) makes `--dport dport:dportEnd` a range, inclusive. */
  | { kind: 'l4'; module: RuleProtocol; dport?: number; dportEnd?: number; sport?: number }
  | { kind: 'mark'; value: number; mask: number; negate: boolean }
  | { kind: 'addrtype'; srcType?: 'LOCAL'; dstType?: 'LOCAL'; negateSrc?: boolean; negateDst?: boolean }
  /**
   * `-m statistic --mode random`. `requested` is the probability kube-proxy wrote (1/(n-i), 10 decimals);
   * `fixed` is what the kernel stores and compares against: lround(requested * 2^31) (libxt_statistic).
   */
  | { kind: 'statistic'; requested: number; fixed: number }
  /** `-m recent` with --rsource and the default mask (the only forms kube-proxy writes). */
  | { kind: 'recent'; mode: 'rcheck' | 'set'; name: string; seconds?: number; reap?: boolean; mask: string }
  | { kind: 'conntrack'; ctstate: number; negate: boolean };

export type Target =
  | { kind: 'jump'; chain: string }
  | { kind: 'goto'; chain: string }
  /** Normalized MARK: new = (mark & ~mask) ^ value (`--or-mark X` = X/X, `--xor-mark X` = X/0). */
  | { kind: 'MARK'; args: { value: number; mask: number } }
  | { kind: 'MASQUERADE'; args: { randomFully: boolean } }
  | { kind: 'DNAT'; args: { addr: string; addr32: number; port: number } }
  | { kind: 'SNAT'; args: { addr: string; addr32: number; port?: number } }
  | { kind: 'RETURN' }
  | { kind: 'DROP' }
  | { kind: 'ACCEPT' }
  /** A rule without `-j`: it only counts the packet, and the walk goes on (kube-proxy ends a KUBE-FW- chain with one). */
  | { kind: 'NONE' }
  /** kube-proxy writes a bare REJECT: the kernel's default is icmp-port-unreachable, for TCP too. */
  | { kind: 'REJECT'; args: { rejectWith: 'icmp-port-unreachable' | 'tcp-reset' } };

export interface Rule {
  table: TableName;
  chain: string;
  src?: CidrMatch;
  dst?: CidrMatch;
  protocol?: RuleProtocol;
  matches: Match[];
  target: Target;
}

export interface Chain {
  name: string;
  /** Built-in chains have a policy; user chains print `-`. */
  builtin: boolean;
  policy: 'ACCEPT' | 'DROP' | null;
  rules: Rule[];
}

/** Chains in iptables-save order: built-ins first (kernel order), then user chains sorted by name. */
export interface RuleSet {
  node: string;
  tables: { filter: Chain[]; nat: Chain[] };
}

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** libxt_statistic: `info->u.random.probability = lround(0x80000000 * prob)`. */
export function statisticFixed(probability: number): number {
  return Math.min(0x80000000, Math.round(0x80000000 * probability)) >>> 0;
}

/** What iptables-save prints: `%.11f` of fixed / 2^31. */
export function formatStatistic(fixed: number): string {
  return (fixed / 0x80000000).toFixed(11);
}

/**
 * Go's fmt `%0.10f` of 1/n (kube-proxy's computeProbability). JS toFixed rounds ties up where Go
 * rounds half to even; a tie only happens for exact binary fractions such as 1/2048.
 */
export function kubeProxyProbability(n: number): string {
  const x = 1 / n;
  const exact = x.toFixed(40);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 11);
  if (/^50*$/.test(tail)) {
    const kept = exact.slice(0, dot + 11);
    const last = Number(kept[kept.length - 1]);
    if (last % 2 === 0) return kept;
  }
  return x.toFixed(10);
}

export function statisticMatch(n: number): Match {
  const requested = Number(kubeProxyProbability(n));
  return { kind: 'statistic', requested, fixed: statisticFixed(requested) };
}

export function ctStateNames(bits: number): string {
  const names: string[] = [];
  for (const [bit, name] of CT_STATE_NAMES) if (bits & bit) names.push(name);
  return names.join(',');
}
