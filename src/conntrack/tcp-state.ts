/**
 * The TCP state machine of net/netfilter/nf_conntrack_proto_tcp.c, ported table for table.
 * tcp_conntracks[dir][index][old_state] -> new state; sIV (= TCP_CONNTRACK_MAX) marks an invalid packet,
 * sIG (= TCP_CONNTRACK_IGNORE) a packet let through without changing state.
 */
import {
  TCP_ACK_SET, TCP_CONNTRACK_CLOSE as sCL, TCP_CONNTRACK_CLOSE_WAIT as sCW, TCP_CONNTRACK_ESTABLISHED as sES,
  TCP_CONNTRACK_FIN_WAIT as sFW, TCP_CONNTRACK_IGNORE as sIG, TCP_CONNTRACK_LAST_ACK as sLA, TCP_CONNTRACK_MAX as sIV,
  TCP_CONNTRACK_NONE as sNO, TCP_CONNTRACK_SYN_RECV as sSR, TCP_CONNTRACK_SYN_SENT as sSS,
  TCP_CONNTRACK_SYN_SENT2 as sS2, TCP_CONNTRACK_TIME_WAIT as sTW, TCP_FIN_SET, TCP_FLAG_ACK, TCP_FLAG_FIN,
  TCP_FLAG_RST, TCP_FLAG_SYN, TCP_FLAG_URG, TCP_NONE_SET, TCP_RST_SET, TCP_SYNACK_SET, TCP_SYN_SET,
} from './constants.js';

void sNO;

/* eslint-disable no-multi-spaces */
// prettier-ignore
const ORIGINAL: readonly (readonly number[])[] = [
  /*            sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
  /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
  /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];
// prettier-ignore
const REPLY: readonly (readonly number[])[] = [
  /*            sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
  /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
  /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];

/** Flattened [dir][index][state] -> state, 2 * 6 * 10 bytes, for allocation-free lookups. */
export const TCP_CONNTRACKS: Uint8Array = (() => {
  const t = new Uint8Array(2 * 6 * 10);
  [ORIGINAL, REPLY].forEach((d, dir) => d.forEach((row, idx) => row.forEach((s, st) => { t[dir * 60 + idx * 10 + st] = s; })));
  return t;
})();

export function tcpTransition(dir: number, index: number, state: number): number {
  return TCP_CONNTRACKS[dir * 60 + index * 10 + state]!;
}

/** get_conntrack_index(): RST wins, then SYN (with or without ACK), FIN, ACK, else none. */
export function tcpConntrackIndex(flags: number): number {
  if (flags & TCP_FLAG_RST) return TCP_RST_SET;
  if (flags & TCP_FLAG_SYN) return flags & TCP_FLAG_ACK ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & TCP_FLAG_FIN) return TCP_FIN_SET;
  if (flags & TCP_FLAG_ACK) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

/** tcp_valid_flags[] of tcp_error(): the combinations left after masking ECE, CWR and PSH. */
const VALID_FLAGS: Uint8Array = (() => {
  const v = new Uint8Array(64);
  for (const f of [
    TCP_FLAG_SYN, TCP_FLAG_SYN | TCP_FLAG_URG, TCP_FLAG_SYN | TCP_FLAG_ACK, TCP_FLAG_RST, TCP_FLAG_RST | TCP_FLAG_ACK,
    TCP_FLAG_FIN | TCP_FLAG_ACK, TCP_FLAG_FIN | TCP_FLAG_ACK | TCP_FLAG_URG, TCP_FLAG_ACK, TCP_FLAG_ACK | TCP_FLAG_URG,
  ]) v[f] = 1;
  return v;
})();

/** tcp_error()'s flag check: e.g. FIN without ACK, SYN+FIN, SYN+RST and no flags at all are invalid. */
export function tcpFlagsValid(flags: number): boolean {
  return VALID_FLAGS[flags & 0x37] === 1;
}
