import * as CT from '../conntrack/constants.js';
import { formatConntrack } from '../conntrack/format.js';
import { icmpIsError, icmpPort } from '../conntrack/table.js';
import { tcpLogText } from '../conntrack/tcp-log.js';
import { newTcpOptions, readTcpOptions } from '../conntrack/tcp-options.js';
import type { PacketPool } from '../engine/pool.js';
import type { StageRuntime } from '../engine/runtime.js';
import { natRewrite } from '../dataplane/nat.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT } from '../kubeproxy/rule.js';
import { newWalkResult, type KpPacket, type WalkResult } from '../kubeproxy/walk.js';
import { ipv4ToString } from '../packet/format.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, rd16, rd32 } from '../dataplane/wire.js';

/** One reusable rule-walk packet and result: no allocation per packet. */
export const kp: KpPacket = { src32: 0, dst32: 0, proto: 'other', sport: 0, dport: 0, mark: 0, srcIsLocal: false, dstIsLocal: false, ctstate: 0 };
export const walkOut: WalkResult = newWalkResult();
const tcpOpts = newTcpOptions();

export const CTINFO_UNTRACKED = 255;

/** Source/destination "port" of a tuple as conntrack keys it: TCP/UDP ports, ICMP id and (type<<8|code), else 0. */
function tupleSport(b: Uint8Array, proto: number, l4: number): number {
  if (l4 < 0) return 0;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return rd16(b, l4);
  return proto === IPPROTO_ICMP ? rd16(b, l4 + 4) : 0;
}

function tupleDport(b: Uint8Array, proto: number, l4: number): number {
  if (l4 < 0) return 0;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) return rd16(b, l4 + 2);
  return proto === IPPROTO_ICMP ? icmpPort(b[l4], b[l4 + 1]) : 0;
}

/**
 * nf_conntrack_in for packet `s` at PREROUTING or OUTPUT: finds (or creates, unconfirmed) its entry
 * and runs the protocol state machine; an ICMP error finds the entry it is RELATED to through its
 * quoted header. Sets pool.ct and pool.ctinfo; INVALID leaves the packet untracked (ctinfo 255) for
 * the filter rules to judge (kube-proxy drops ctstate INVALID in KUBE-FORWARD). Returns a drop
 * reason code (table full) or 0.
 */
export function conntrackIn(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, tableFullDrop: number): number {
  const ct = rt.ctx.conntrack;
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const l4 = pool.l4[s];
  const proto = b[l3 + 9];
  const src = rd32(b, l3 + 12);
  const dst = rd32(b, l3 + 16);
  pool.ct[s] = -1;
  pool.ctinfo[s] = CTINFO_UNTRACKED;
  if (proto === IPPROTO_ICMP && l4 >= 0 && icmpIsError(b[l4])) {
    const q = l4 + 8;
    if (q + 20 <= pool.start[s] + pool.len[s]) {
      const qp = b[q + 9];
      const ql4 = q + (b[q] & 0x0f) * 4;
      const whole = ql4 + 8 <= pool.start[s] + pool.len[s];
      const n = ct.lookupRelated(qp, 0, rd32(b, q + 12), rd32(b, q + 16), whole ? tupleSport(b, qp, ql4) : 0, whole ? tupleDport(b, qp, ql4) : 0, rt.now);
      if (n >= 0) {
        pool.ct[s] = n;
        pool.ctinfo[s] = ct.lastCtinfo;
        if (rt.tracing) rt.trace(s, 'conntrack', 'RELATED', `ICMP error about ${formatConntrack(ct, n >> 1, rt.now)}`);
        return 0;
      }
    }
  }
  const sport = tupleSport(b, proto, l4);
  const dport = tupleDport(b, proto, l4);
  let tcpFlags = 0;
  let seq = 0;
  let ack = 0;
  let win = 0;
  let payload = 0;
  let opts = 0;
  let sack = 0;
  if (proto === IPPROTO_TCP && l4 >= 0) {
    tcpFlags = b[l4 + 13];
    seq = rd32(b, l4 + 4);
    ack = rd32(b, l4 + 8);
    win = rd16(b, l4 + 14);
    payload = rd16(b, l3 + 2) - (b[l3] & 0x0f) * 4 - (b[l4 + 12] >> 4) * 4;
    // Options within the header and the packet (a header longer than the packet is the parser's error).
    const optEnd = Math.min(l4 + (b[l4 + 12] >> 4) * 4, pool.start[s] + pool.len[s]);
    readTcpOptions(b, l4 + 20, optEnd, ack, tcpOpts);
    opts = tcpOpts.bits;
    sack = tcpOpts.sack;
  }
  const n = ct.track(proto, 0, src, dst, sport, dport, rt.now, tcpFlags, seq, ack, win, payload, opts, sack);
  if (n === CT.CT_TABLE_FULL) {
    if (rt.tracing) rt.trace(s, 'conntrack', 'drop CT_TABLE_FULL', `nf_conntrack_max ${ct.max} reached and no entry to early-drop`);
    return tableFullDrop;
  }
  // The kernel's own words for an INVALID or ignored TCP packet (nf_ct_l4proto_log_invalid), for the trace.
  const why = rt.tracing && proto === IPPROTO_TCP ? tcpLogText(ct.tcpLog) : '';
  if (n < 0) {
    if (rt.tracing) rt.trace(s, 'conntrack', 'INVALID', `${ipv4ToString(src)}:${sport} > ${ipv4ToString(dst)}:${dport} ${why || 'fits no state (nf_conntrack_proto)'}`);
    return 0;
  }
  pool.ct[s] = n;
  pool.ctinfo[s] = ct.lastCtinfo;
  if (rt.tracing) {
    const entry = ct.isConfirmed(n >> 1) ? formatConntrack(ct, n >> 1, rt.now) : 'new entry (unconfirmed)';
    rt.trace(s, 'conntrack', ctinfoName(ct.lastCtinfo), why ? `${entry} (let through unchanged: ${why})` : entry);
  }
  return 0;
}

export function ctinfoName(ctinfo: number): string {
  switch (ctinfo) {
    case CT.IP_CT_NEW: return 'NEW';
    case CT.IP_CT_ESTABLISHED: return 'ESTABLISHED';
    case CT.IP_CT_ESTABLISHED_REPLY: return 'ESTABLISHED (reply)';
    case CT.IP_CT_RELATED: return 'RELATED';
    case CT.IP_CT_RELATED_REPLY: return 'RELATED (reply)';
    default: return 'UNTRACKED';
  }
}

/** Fills `kp` (the rule-walk view) from packet `s`. */
export function fillKp(ctx: NodeContext, pool: PacketPool, s: number): KpPacket {
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const l4 = pool.l4[s];
  const proto = b[l3 + 9];
  kp.src32 = rd32(b, l3 + 12);
  kp.dst32 = rd32(b, l3 + 16);
  kp.proto = proto === IPPROTO_TCP ? 'tcp' : proto === IPPROTO_UDP ? 'udp' : proto === IPPROTO_ICMP ? 'icmp' : proto === 132 ? 'sctp' : 'other';
  kp.sport = l4 >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP) ? rd16(b, l4) : 0;
  kp.dport = l4 >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP) ? rd16(b, l4 + 2) : 0;
  kp.mark = pool.mark[s];
  kp.srcIsLocal = ctx.localAddrs.has(kp.src32);
  kp.dstIsLocal = ctx.localAddrs.has(kp.dst32);
  const info = pool.ctinfo[s];
  let st = 0;
  if (info === CTINFO_UNTRACKED) st = CT_INVALID;
  else if (info === CT.IP_CT_NEW) st = CT_NEW;
  else if (info === CT.IP_CT_RELATED || info === CT.IP_CT_RELATED_REPLY) st = CT_RELATED;
  else st = CT_ESTABLISHED;
  if (pool.ct[s] >= 0) {
    const status = ctx.conntrack.status[pool.ct[s] >> 1];
    if (status & CT.IPS_DST_NAT) st |= CT_DNAT;
    if (status & CT.IPS_SRC_NAT) st |= CT_SNAT;
  }
  kp.ctstate = st;
  return kp;
}

/**
 * nf_nat_packet for a tracked packet of an existing translation: at a DST hook (PREROUTING,
 * OUTPUT) or a SRC hook (POSTROUTING, INPUT), rewrite the packet to the inverse of the other
 * direction's tuple when the entry's NAT bits say this hook translates this direction.
 */
export function applyNat(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, dstHook: boolean): void {
  const n = pool.ct[s];
  if (n < 0) return;
  const ct = rt.ctx.conntrack;
  const e = n >> 1;
  const dir = n & 1;
  let bit = dstHook ? CT.IPS_DST_NAT : CT.IPS_SRC_NAT;
  if (dir === 1) bit ^= CT.IPS_NAT_MASK;
  if (!(ct.status[e] & bit)) return;
  const other = (e * 2) + (dir ^ 1);
  // Inverse of the other direction's tuple: its destination is our source, and vice versa.
  const changed = dstHook
    ? natRewrite(pool, s, 1, ct.tSrc[other], ct.tSport[other])
    : natRewrite(pool, s, 0, ct.tDst[other], ct.tDport[other]);
  if (changed && rt.tracing) rt.trace(s, 'conntrack', dstHook ? 'un-NAT destination' : 'un-NAT source', `from the entry: ${formatConntrack(ct, e, rt.now)}`);
}
