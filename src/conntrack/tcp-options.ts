/**
 * The TCP options conntrack reads, as nf_conntrack_proto_tcp.c's tcp_options() and tcp_sack() parse them
 * (stop at EOL, at a "silly" length < 2 and at an option running past the header).
 */
import { TCP_MAX_WSCALE } from './constants.js';

/** tcpOptionBits(): the header has options at all (tcp_options() returns early without, keeping the state). */
export const TCPOPT_PRESENT = 0x40;
/** A window scale option (its shift, clamped to 14, in the low 4 bits). */
export const TCPOPT_WSCALE = 0x10;
/** SACK permitted. */
export const TCPOPT_SACK_PERM = 0x20;
export const TCPOPT_SCALE_MASK = 0x0f;

const EOL = 0, NOP = 1, WINDOW = 3, SACK_PERM = 4, SACK = 5;

/** tcp_options() over bytes [from, to) of `b` (the options after the 20-byte header), packed as above. */
export function tcpOptionBits(b: Uint8Array, from: number, to: number): number {
  if (to <= from) return 0;
  let bits = TCPOPT_PRESENT;
  let p = from;
  while (p < to) {
    const op = b[p]!;
    if (op === EOL) break;
    if (op === NOP) { p++; continue; }
    if (to - p < 2) break;
    const size = b[p + 1]!;
    if (size < 2 || size > to - p) break;
    if (op === SACK_PERM && size === 2) bits |= TCPOPT_SACK_PERM;
    else if (op === WINDOW && size === 3) bits = (bits & ~TCPOPT_SCALE_MASK) | TCPOPT_WSCALE | Math.min(b[p + 2]!, TCP_MAX_WSCALE);
    p += size;
  }
  return bits;
}

/**
 * tcp_sack(): the highest right edge of the first SACK option's blocks that lies after `ack`, else `ack`
 * (the caller uses it only when the receiver permitted SACK).
 */
export function tcpSackEdge(b: Uint8Array, from: number, to: number, ack: number): number {
  let sack = ack >>> 0;
  let p = from;
  while (p < to) {
    const op = b[p]!;
    if (op === EOL) break;
    if (op === NOP) { p++; continue; }
    if (to - p < 2) break;
    const size = b[p + 1]!;
    if (size < 2 || size > to - p) break;
    if (op === SACK && size >= 10 && (size - 2) % 8 === 0) {
      for (let i = p + 2; i < p + size; i += 8) {
        const right = ((b[i + 4]! << 24) | (b[i + 5]! << 16) | (b[i + 6]! << 8) | b[i + 7]!) >>> 0;
        if (((sack - right) | 0) < 0) sack = right;
      }
      break;
    }
    p += size;
  }
  return sack;
}
