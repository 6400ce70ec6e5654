import * as CT from '../conntrack/constants.js';
import { formatConntrack } from '../conntrack/format.js';
import { Drop } from '../engine/drop-reasons.js';
import { PacketFlag, type PacketPool } from '../engine/pool.js';
import type { StageRuntime } from '../engine/runtime.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import { natRewrite } from '../dataplane/nat.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { RouteKind } from '../dataplane/routes.js';
import { formatRule } from '../kubeproxy/render-save.js';
import type { TableName } from '../kubeproxy/rule.js';
import { walkChain, type WalkResult } from '../kubeproxy/walk.js';
import { ipv4ToString } from '../packet/format.js';
import { IPPROTO_TCP, IPPROTO_UDP, rd32 } from '../dataplane/wire.js';
import { buildTcpReset } from '../dataplane/tcp-answer.js';
import { sendIcmpError } from './icmp-send.js';
import { IPVS_MASQ, IPVS_PENDING } from './ipvs4.js';
import { S } from './names.js';
import { applyNat, conntrackIn, fillKp, walkOut } from './netfilter-common.js';

/** Walks a built-in chain of the node's rules (kube-proxy's, rendered by src/kubeproxy) for packet s. */
function walk(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, table: TableName, chain: string): WalkResult | null {
  const rules = rt.ctx.rules;
  if (!rules) return null;
  const pkt = fillKp(rt.ctx, pool, s);
  rt.ctx.walkCtx.now = rt.now;
  const r = walkChain(rules, table, chain, pkt, rt.ctx.walkCtx, walkOut);
  pool.mark[s] = pkt.mark;
  if (rt.tracing) {
    for (let k = 0; k < r.matchedCount; k++) rt.trace(s, `iptables ${table} ${chain}`, 'match', formatRule(r.matched[k]));
  }
  return r;
}

/** A filter verdict: ACCEPT goes on, DROP is counted, REJECT also answers (ICMP port unreachable or RST). */
function filterVerdict(rt: StageRuntime<NodeContext>, s: number, r: WalkResult | null): boolean {
  if (!r || r.verdict === 'ACCEPT') return true;
  const pool = rt.pool;
  if (r.verdict === 'REJECT') {
    if (r.rejectWith === 'tcp-reset') sendTcpReset(rt, s);
    else sendIcmpError(rt, s, 3, 3, 0);
    if (rt.tracing) rt.trace(s, 'iptables filter', 'drop REJECTED', `${r.by ? formatRule(r.by) : 'policy'} (${r.rejectWith ?? 'icmp-port-unreachable'} sent)`);
    rt.drop(s, Drop.REJECTED);
    return false;
  }
  const invalid = pool.ctinfo[s] === 255 && r.by !== null && r.by.matches.some((m) => m.kind === 'conntrack');
  if (rt.tracing) rt.trace(s, 'iptables filter', invalid ? 'drop CT_INVALID' : 'drop RULE_DROP', r.by ? formatRule(r.by) : 'chain policy DROP');
  rt.drop(s, invalid ? Drop.CT_INVALID : Drop.RULE_DROP);
  return false;
}

/** `--reject-with tcp-reset` (nf_send_reset); kube-proxy's bare REJECT uses ICMP port unreachable instead. */
function sendTcpReset(rt: StageRuntime<NodeContext>, s: number): void {
  const r = buildTcpReset(rt.pool, s);
  if (r >= 0) rt.emit(r, S.IP4_LOOKUP);
}

/**
 * nf_nat_inet_fn: the nat table is walked for a connection only until its binding for this
 * manipulation is set up (nf_nat_initialized: the *_NAT_DONE bit), i.e. on its first packet,
 * even if later packets still arrive as NEW (no reply yet). Marks the binding done (a walk that
 * asks for nothing sets a null binding).
 */
function natUninitialized(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, doneBit: number): boolean {
  const n = pool.ct[s];
  if (n < 0 || pool.ctinfo[s] !== CT.IP_CT_NEW) return false;
  const ct = rt.ctx.conntrack;
  const e = n >> 1;
  if (ct.status[e] & doneBit) return false;
  ct.status[e] |= doneBit;
  return true;
}

/** nat-table DNAT for a new connection: the reply tuple changes, then the packet is rewritten. */
function natNew(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number, r: WalkResult | null, dstHook: boolean): void {
  const n = pool.ct[s];
  if (n < 0 || !r || !r.nat) return;
  const ct = rt.ctx.conntrack;
  const e = n >> 1;
  const a = r.nat;
  if (dstHook && a.kind === 'DNAT') {
    const port = a.port || ct.tDport[e * 2];
    if (ct.dnat(e, a.addr32, port)) {
      natRewrite(pool, s, 1, a.addr32, port);
      if (rt.tracing) rt.trace(s, 'conntrack', 'DNAT', `to ${a.addr}:${port} (${r.by ? formatRule(r.by) : 'rule'})`);
    }
  } else if (!dstHook && (a.kind === 'MASQUERADE' || a.kind === 'SNAT')) {
    const addr = a.kind === 'SNAT' ? a.addr32 : masqueradeAddress(rt.ctx, pool.aux0[s]);
    const o = e * 2;
    const want = a.kind === 'SNAT' && a.port ? a.port : ct.tSport[o];
    const randomFully = a.kind === 'MASQUERADE' && a.randomFully;
    const port = pickSourcePort(rt, e, addr, want, randomFully);
    if (port < 0) {
      if (rt.tracing) rt.trace(s, 'conntrack', 'SNAT failed', 'no free source port');
      return;
    }
    if (ct.snat(e, addr, port)) {
      natRewrite(pool, s, 0, addr, port);
      const why = randomFully ? ' (--random-fully: a random port)' : port !== want ? ` (port ${want} was taken: clash resolved)` : '';
      if (rt.tracing) rt.trace(s, 'conntrack', a.kind, `source ${ipv4ToString(addr)}:${port}${why}`);
    }
  }
}

/** MASQUERADE takes the egress device's address; a host veth has none, so the node's (inet_select_addr). */
function masqueradeAddress(ctx: NodeContext, dev: number): number {
  const d = ctx.devices.get(dev);
  if (d.kind === DeviceKind.VXLAN) return ctx.node.vtepIp32 >>> 0;
  return ctx.node.ip32 >>> 0;
}

/**
 * nf_nat_l4proto_unique_tuple: keep the source port when the resulting reply tuple is free; else
 * search the port range (1024-65535) from a random offset (the seeded PRNG), as the kernel does.
 */
function pickSourcePort(rt: StageRuntime<NodeContext>, e: number, addr: number, want: number, randomFully: boolean): number {
  const ct = rt.ctx.conntrack;
  const proto = ct.proto[e];
  const r = e * 2 + 1;
  const free = (p: number): boolean => !ct.tupleInUse(proto, ct.zone[e], ct.tSrc[r], addr, ct.tSport[r], p, e);
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return want;
  if (!randomFully && free(want)) return want;
  const min = 1024;
  const range = 65536 - min;
  const start = rt.ctx.rng.nextU32() % range;
  for (let i = 0; i < range; i++) {
    const p = min + ((start + i) % range);
    if (free(p)) return p;
  }
  return -1;
}

/** PREROUTING: conntrack, then NAT (kube-proxy's nat PREROUTING for a new flow, the entry for the rest). */
export const nf4Prerouting = defineStage<NodeContext>({
  name: S.NF4_PREROUTING,
  next: [S.POLICY4_EGRESS],
  drops: [Drop.CT_TABLE_FULL],
  describe: 'netfilter PREROUTING: conntrack, DNAT',
  process(rt, slots, n, pool) {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const drop = conntrackIn(rt, pool, s, Drop.CT_TABLE_FULL);
      if (drop) {
        rt.drop(s, drop);
        continue;
      }
      if (pool.aux1[s] & IPVS_PENDING) ipvsDnat(rt, pool, s);
      else if (natUninitialized(rt, pool, s, CT.IPS_DST_NAT_DONE)) natNew(rt, pool, s, walk(rt, pool, s, 'nat', 'PREROUTING'), true);
      else applyNat(rt, pool, s, true);
      rt.next(s, 0);
    }
  },
});

/**
 * IPVS scheduled a new connection (ipvs4-in): with net.ipv4.vs.conntrack=1 the conntrack entry
 * takes the real server as its DNAT (ip_vs_update_conntrack), so later packets and replies are
 * translated from the entry; KUBE-MARK-MASQ as kube-proxy's IPVS-mode rules decide.
 */
function ipvsDnat(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number): void {
  const addr = pool.aux0[s] >>> 0;
  const port = pool.aux1[s] & 0xffff;
  if (pool.aux1[s] & IPVS_MASQ) pool.mark[s] = (pool.mark[s] | 0x4000) >>> 0;
  pool.aux1[s] = 0;
  const n = pool.ct[s];
  if (n >= 0 && rt.ctx.conntrack.dnat(n >> 1, addr, port)) {
    natRewrite(pool, s, 1, addr, port);
    if (rt.tracing) rt.trace(s, 'conntrack', 'DNAT (IPVS)', `to ${ipv4ToString(addr)}:${port}${pool.mark[s] & 0x4000 ? '; marked 0x4000 for masquerade' : ''}`);
  }
}

/** OUTPUT (the node's own packets): conntrack, nat OUTPUT, filter OUTPUT; reroute after DNAT. */
export const nf4Output = defineStage<NodeContext>({
  name: S.NF4_OUTPUT,
  next: [S.NF4_POSTROUTING],
  drops: [Drop.CT_TABLE_FULL, Drop.RULE_DROP, Drop.REJECTED, Drop.CT_INVALID, Drop.FIB_LOOKUP_FAILED],
  describe: 'netfilter OUTPUT: conntrack, DNAT, filter',
  process(rt, slots, n, pool) {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const drop = conntrackIn(rt, pool, s, Drop.CT_TABLE_FULL);
      if (drop) {
        rt.drop(s, drop);
        continue;
      }
      const before = rd32(pool.bufs[s], pool.l3[s] + 16);
      if (natUninitialized(rt, pool, s, CT.IPS_DST_NAT_DONE)) natNew(rt, pool, s, walk(rt, pool, s, 'nat', 'OUTPUT'), true);
      else applyNat(rt, pool, s, true);
      const after = rd32(pool.bufs[s], pool.l3[s] + 16);
      if (after !== before) {
        // ip_route_me_harder: the destination changed, route again (to one of the node's own addresses: lo).
        const r = rt.ctx.routes.lookup(after);
        if (r < 0) {
          rt.drop(s, Drop.FIB_LOOKUP_FAILED);
          continue;
        }
        const route = rt.ctx.routes.routes[r];
        if (route.kind === RouteKind.LOCAL) pool.flags[s] |= PacketFlag.LOOPBACK;
        else {
          pool.flags[s] &= ~PacketFlag.LOOPBACK;
          pool.aux0[s] = route.dev;
          pool.aux1[s] = route.kind === RouteKind.VIA ? route.via : after;
        }
      }
      if (!filterVerdict(rt, s, walk(rt, pool, s, 'filter', 'OUTPUT'))) continue;
      rt.next(s, 0);
    }
  },
});

/** FORWARD: the filter table (kube-proxy's KUBE-FORWARD drops ctstate INVALID; KUBE-SERVICES rejects). */
export const nf4Forward = defineStage<NodeContext>({
  name: S.NF4_FORWARD,
  next: [S.NF4_POSTROUTING],
  drops: [Drop.RULE_DROP, Drop.REJECTED, Drop.CT_INVALID],
  describe: 'netfilter FORWARD: filter table',
  process(rt, slots, n, pool) {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (!filterVerdict(rt, s, walk(rt, pool, s, 'filter', 'FORWARD'))) continue;
      rt.next(s, 0);
    }
  },
});

/** INPUT: filter INPUT, source un-NAT, then the entry is confirmed (__nf_conntrack_confirm at LOCAL_IN). */
export const nf4LocalIn = defineStage<NodeContext>({
  name: S.NF4_INPUT,
  next: [S.IP4_LOCAL],
  drops: [Drop.RULE_DROP, Drop.REJECTED, Drop.CT_INVALID, Drop.CT_MAP_INSERTION_FAILED],
  describe: 'netfilter INPUT: filter, confirm',
  process(rt, slots, n, pool) {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (!filterVerdict(rt, s, walk(rt, pool, s, 'filter', 'INPUT'))) continue;
      applyNat(rt, pool, s, false);
      if (!confirm(rt, pool, s)) continue;
      rt.next(s, 0);
    }
  },
});

/** POSTROUTING: kube-proxy's nat POSTROUTING (masquerade marked packets) for a new flow, un-DNAT for replies, confirm. */
export const nf4Postrouting = defineStage<NodeContext>({
  name: S.NF4_POSTROUTING,
  next: [S.IP4_OUTPUT, S.NF4_INPUT],
  drops: [Drop.CT_MAP_INSERTION_FAILED],
  describe: 'netfilter POSTROUTING: SNAT/MASQUERADE, confirm',
  process(rt, slots, n, pool) {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (natUninitialized(rt, pool, s, CT.IPS_SRC_NAT_DONE)) {
        natNew(rt, pool, s, walk(rt, pool, s, 'nat', 'POSTROUTING'), false);
      } else {
        applyNat(rt, pool, s, false);
      }
      if (!confirm(rt, pool, s)) continue;
      if (pool.flags[s] & PacketFlag.LOOPBACK) {
        // lo: received again, at LOCAL_IN (PREROUTING finds the entry and its nat already set up).
        pool.flags[s] &= ~(PacketFlag.LOOPBACK | PacketFlag.LOCAL_OUT);
        if (rt.tracing) rt.trace(s, 'routing', 'loopback', 'lo: to LOCAL_IN');
        rt.next(s, 1);
      } else rt.next(s, 0);
    }
  },
});

function confirm(rt: StageRuntime<NodeContext>, pool: PacketPool, s: number): boolean {
  const n = pool.ct[s];
  if (n < 0) return true;
  const ct = rt.ctx.conntrack;
  const e = n >> 1;
  if (ct.isConfirmed(e)) return true;
  const r = ct.confirm(e, rt.now);
  if (r === CT.CT_CLASH) {
    if (rt.tracing) rt.trace(s, 'conntrack', 'drop CT_MAP_INSERTION_FAILED', 'a confirmed entry already holds this tuple (insert_failed)');
    rt.drop(s, Drop.CT_MAP_INSERTION_FAILED);
    return false;
  }
  if (rt.tracing) rt.trace(s, 'conntrack', 'confirmed', formatConntrack(ct, e, rt.now));
  return true;
}

