import type { StageRuntime } from '../engine/runtime.js';
import { buildIcmpError } from '../dataplane/icmp.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { IPPROTO_ICMP, rd16, rd32 } from '../dataplane/wire.js';
import { S } from './names.js';

/**
 * Sends the ICMP error a Linux node would about packet `s` back towards its source: built by
 * buildIcmpError, rate limited per destination in packet time (except fragmentation needed, as
 * icmpv4_mask_allow), and routed from ip4-lookup like
 * any locally generated packet.
 */
export function sendIcmpError(rt: StageRuntime<NodeContext>, s: number, type: number, code: number, info: number): void {
  const pool = rt.pool;
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  // __icmp_send returns before any rate limiting for a non-first fragment or an ICMP error
  // (RFC 1122 3.2.2): such packets must not spend a token (buildIcmpError makes the same checks).
  if ((rd16(b, l3 + 6) & 0x1fff) !== 0) return;
  if (b[l3 + 9] === IPPROTO_ICMP) {
    const t = b[l3 + (b[l3] & 0x0f) * 4];
    if (t === 3 || t === 4 || t === 5 || t === 11 || t === 12) return;
  }
  // icmpv4_mask_allow: "Don't limit PMTU discovery": fragmentation needed (3/4) is never limited.
  const limited = !(type === 3 && code === 4);
  if (limited && !rt.ctx.icmpLimiter.allow(rd32(b, l3 + 12), rt.now * 1000)) return;
  const e = buildIcmpError(pool, s, rt.ctx, type, code, info);
  if (e >= 0) rt.emit(e, S.IP4_LOOKUP);
}
