import type { StageRuntime } from '../engine/runtime.js';
import { buildIcmpError } from '../dataplane/icmp.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { rd32 } from '../dataplane/wire.js';
import { S } from './names.js';

/**
 * Sends the ICMP error a Linux node would about packet `s` back towards its source: built by
 * buildIcmpError, rate limited per destination in packet time, and routed from ip4-lookup like
 * any locally generated packet.
 */
export function sendIcmpError(rt: StageRuntime<NodeContext>, s: number, type: number, code: number, info: number): void {
  const pool = rt.pool;
  const src = rd32(pool.bufs[s], pool.l3[s] + 12);
  if (!rt.ctx.icmpLimiter.allow(src, rt.now * 1000)) return;
  const e = buildIcmpError(pool, s, rt.ctx, type, code, info);
  if (e >= 0) rt.emit(e, S.IP4_LOOKUP);
}
