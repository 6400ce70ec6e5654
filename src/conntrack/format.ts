/**
 * `conntrack -L` lines, byte for byte as conntrack-tools 1.4.7 prints them on this kernel
 * (fixtures in test/conntrack/fixtures/conntrack-L.txt, captured in network namespaces):
 *   `%-8s %u ` protocol name and number, remaining seconds, TCP state, original tuple, `[UNREPLIED]` while no
 *   reply was seen, reply tuple, `[ASSURED]`, `mark=`, `zone=` only when non-zero, `use=`.
 */
import * as C from './constants.js';
import type { ConntrackTable } from './table.js';

export function formatIpv4(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function protoName(p: number): string {
  switch (p) {
    case C.IPPROTO_TCP: return 'tcp';
    case C.IPPROTO_UDP: return 'udp';
    case C.IPPROTO_ICMP: return 'icmp';
    default: return 'unknown';
  }
}

function tuple(t: ConntrackTable, n: number, proto: number): string {
  let s = `src=${formatIpv4(t.tSrc[n]!)} dst=${formatIpv4(t.tDst[n]!)} `;
  if (proto === C.IPPROTO_TCP || proto === C.IPPROTO_UDP) s += `sport=${t.tSport[n]} dport=${t.tDport[n]} `;
  else if (proto === C.IPPROTO_ICMP) s += `type=${t.tDport[n]! >> 8} code=${t.tDport[n]! & 255} id=${t.tSport[n]} `;
  return s;
}

/** One `conntrack -L` line (no newline); `extended` adds the `-o extended` prefix `ipv4     2 `. */
export function formatConntrack(t: ConntrackTable, entry: number, now: number, extended = false): string {
  const proto = t.proto[entry]!;
  const st = t.status[entry]!;
  let s = extended ? 'ipv4     2 ' : '';
  s += `${protoName(proto).padEnd(8)} ${proto} ${t.remaining(entry, now)} `;
  if (proto === C.IPPROTO_TCP && !(st & C.IPS_OFFLOAD)) s += `${C.TCP_CONNTRACK_NAMES[t.tcpState[entry]!]} `;
  s += tuple(t, entry * 2, proto);
  if (!(st & C.IPS_SEEN_REPLY)) s += '[UNREPLIED] ';
  s += tuple(t, entry * 2 + 1, proto);
  if (st & C.IPS_OFFLOAD) s += '[OFFLOAD] ';
  if (st & C.IPS_ASSURED) s += '[ASSURED] ';
  s += `mark=${t.mark[entry]} `;
  if (t.zone[entry] !== 0) s += `zone=${t.zone[entry]} `;
  s += `use=${t.use[entry]}`;
  return s;
}

/** Every live confirmed entry's `conntrack -L` line, in slot order (`extended`: `-o extended`, with the `ipv4     2 ` prefix). */
export function formatConntrackList(t: ConntrackTable, now: number, extended = false): string[] {
  return t.entries(now).map((e) => formatConntrack(t, e, now, extended));
}

/** `conntrack -S` style line (single CPU). */
export function formatConntrackStats(t: ConntrackTable): string {
  const s = t.stats;
  return `cpu=0   \tfound=${s.found} invalid=${s.invalid} insert=${s.insert} insert_failed=${s.insert_failed} ` +
    `drop=${s.drop} early_drop=${s.early_drop} error=${s.error} search_restart=${s.search_restart} ` +
    `clash_resolve=${s.clash_resolve} chaintoolong=${s.chaintoolong} `;
}
