import type { PacketPool } from '../engine/pool.js';
import { PacketFlag } from '../engine/pool.js';
import { finishChecksum, ipv4HeaderChecksum, onesSum } from '../packet/checksum.js';
import type { NodeContext } from './node-context.js';
import { ETH_HLEN, rd16, rd32, wr16, wr32 } from './wire.js';

/** RFC 1812 / Linux icmp_send: an error quotes the offending datagram up to a 576-byte ICMP packet. */
const ICMP_ERROR_MAX = 576;

/**
 * Linux limits ICMP errors per destination with a token bucket (inet_peer_xrlim_allow: one per
 * icmp_ratelimit = 1000 ms, burst 6) for the types in icmp_ratemask (3, 4, 11, 12). Packet time.
 */
export class IcmpRateLimiter {
  private readonly peers = new Map<number, { tokens: number; last: number }>();
  allow(dst: number, nowMs: number): boolean {
    const RATE = 1000;
    const BURST = 6 * RATE;
    let p = this.peers.get(dst);
    if (!p) {
      p = { tokens: BURST, last: nowMs };
      this.peers.set(dst, p);
    }
    p.tokens = Math.min(BURST, p.tokens + (nowMs - p.last));
    p.last = nowMs;
    if (p.tokens < RATE) return false;
    p.tokens -= RATE;
    return true;
  }
}

/**
 * Builds the ICMPv4 error a Linux node sends about the IPv4 datagram at pool.l3[orig]:
 * IPv4 TOS 0xc0 (IPTOS_PREC_INTERNETCONTROL) with the offending datagram's TOS bits (icmp_send:
 * RT_TOS(tos) | IPTOS_PREC_INTERNETCONTROL, RT_TOS masking 0x1e: no ECN, no precedence), TTL 64, DF clear (the ICMP socket uses
 * IP_PMTUDISC_DONT), source = the node's underlay address, quoting as much of the datagram as fits
 * in 576 bytes. Returns the new slot (Ethernet addresses are filled by ip4-output), or -1 when the
 * kernel would not send one (the offending packet is itself an ICMP error, or a non-first fragment).
 */
export function buildIcmpError(pool: PacketPool, orig: number, ctx: NodeContext, type: number, code: number, info: number): number {
  const ob = pool.bufs[orig];
  const l3 = pool.l3[orig];
  const frag = rd16(ob, l3 + 6) & 0x1fff;
  if (frag !== 0) return -1;
  if (ob[l3 + 9] === 1) {
    const t = ob[l3 + (ob[l3] & 0x0f) * 4];
    // Never answer an ICMP error with an error (RFC 1122 3.2.2); echo and friends are fine.
    if (t === 3 || t === 4 || t === 5 || t === 11 || t === 12) return -1;
  }
  const origLen = Math.min(rd16(ob, l3 + 2), pool.start[orig] + pool.len[orig] - l3);
  const quoted = Math.min(origLen, ICMP_ERROR_MAX - 20 - 8);
  const s = pool.alloc();
  const total = 20 + 8 + quoted;
  pool.ensureRoom(s, ETH_HLEN + total);
  const b = pool.bufs[s];
  const st = pool.start[s];
  b.fill(0, st, st + ETH_HLEN + 28);
  wr16(b, st + 12, 0x0800);
  const ip = st + ETH_HLEN;
  b[ip] = 0x45;
  b[ip + 1] = 0xc0 | (ob[l3 + 1] & 0x1e);
  wr16(b, ip + 2, total);
  wr16(b, ip + 4, ctx.ipId);
  ctx.ipId = (ctx.ipId + 1) & 0xffff;
  b[ip + 8] = 64;
  b[ip + 9] = 1;
  wr32(b, ip + 12, ctx.node.ip32);
  wr32(b, ip + 16, rd32(ob, l3 + 12));
  wr16(b, ip + 10, ipv4HeaderChecksum(b, ip, 20));
  const ic = ip + 20;
  b[ic] = type;
  b[ic + 1] = code;
  wr32(b, ic + 4, info);
  b.set(ob.subarray(l3, l3 + quoted), ic + 8);
  wr16(b, ic + 2, finishChecksum(onesSum(b, ic, 8 + quoted)));
  pool.finishGenerated(s, orig, ETH_HLEN + total, PacketFlag.GENERATED | PacketFlag.LOCAL_OUT);
  pool.l3[s] = ip;
  pool.l4[s] = ic;
  return s;
}
