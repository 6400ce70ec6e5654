/**
 * The TCP options conntrack reads, as nf_conntrack_proto_tcp.c's tcp_options() and tcp_sack() parse them
 * (stop at EOL, at a "silly" length < 2 and at an option running past the header). Both kernel functions walk
 * the same bytes with the same stops; one walk here gives both results.
 */
import { TCP_MAX_WSCALE } from './constants.js';

/** TcpOptions.bits: the header has options at all (tcp_options() returns early without, keeping the state). */
export const TCPOPT_PRESENT = 0x40;
/** A window scale option (its shift, clamped to 14, in the low 4 bits). */
export const TCPOPT_WSCALE = 0x10;
/** SACK permitted. */
export const TCPOPT_SACK_PERM = 0x20;
export const TCPOPT_SCALE_MASK = 0x0f;

const EOL = 0, NOP = 1, WINDOW = 3, SACK_PERM = 4, SACK = 5;

/** What readTcpOptions() found (a reused record: no allocation per packet). */
export interface TcpOptions {
  /** tcp_options(), packed as the TCPOPT_* bits above. */
  bits: number;
  /** tcp_sack(): the highest right edge of the first SACK option's blocks after the ack, else the ack. */
  sack: number;
}

export function newTcpOptions(): TcpOptions {
  return { bits: 0, sack: 0 };
}

/** tcp_options() and tcp_sack() over bytes [from, to) of `b` (the options after the 20-byte header) into `out`. */
export function readTcpOptions(b: Uint8Array, from: number, to: number, ack: number, out: TcpOptions): TcpOptions {
  let bits = to > from ? TCPOPT_PRESENT : 0;
  let sack = ack >>> 0;
  let sackSeen = false; // tcp_sack() returns after the first SACK option; tcp_options() reads on
  let p = from;
  while (p < to) {
    const op = b[p]!;
    if (op === EOL) break;
    if (op === NOP) { p++; continue; }
    if (to - p < 2) break;
    const size = b[p + 1]!;
    if (size < 2 || size > to - p) break;
    if (op === SACK_PERM && size === 2) {
      bits |= TCPOPT_SACK_PERM;
    } else if (op === WINDOW && size === 3) {
      bits = (bits & ~TCPOPT_SCALE_MASK) | TCPOPT_WSCALE | Math.min(b[p + 2]!, TCP_MAX_WSCALE);
    } else if (op === SACK && !sackSeen && size >= 10 && (size - 2) % 8 === 0) {
      sackSeen = true;
      for (let i = p + 2; i < p + size; i += 8) {
        const right = ((b[i + 4]! << 24) | (b[i + 5]! << 16) | (b[i + 6]! << 8) | b[i + 7]!) >>> 0;
        if (((sack - right) | 0) < 0) sack = right;
      }
    }
    p += size;
  }
  out.bits = bits;
  out.sack = sack;
  return out;
}
