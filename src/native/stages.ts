/**
 * The native fast path as stages: each wrapper keeps its TypeScript stage's name, next list and
 * drops, and its `process` makes one addon call for the whole vector over the pool's memory. The
 * addon handles what it can and marks the packets it leaves (TTL expiry, DF/MTU, unusual inner
 * frames, jumbo frames in private buffers); the TypeScript stage then runs on just those, in the
 * same dispatch, so next stages, drops and counters end as with the TS engine. A traced vector
 * runs the TS stage: trace text has one source. Capture observation (rt.observe) stays in
 * TypeScript, in packet order, before (encap) or after (decap) the native work, as the TS stage
 * observes.
 */
import type { NodeContext } from '../dataplane/node-context.js';
import { neighbourKey } from '../dataplane/node-context.js';
import type { PacketPool } from '../engine/pool.js';
import type { StageRuntime } from '../engine/runtime.js';
import type { StageDef } from '../engine/stage.js';
import { S } from '../stages/names.js';
import { establishedAccepts } from './filter-proof.js';
import { compileFilter } from './filter-program.js';
import { nativeDeviceV1, nativeFdbEntryV1 } from './layouts.js';
import type { NativeAddon, NativeHandle } from './loader.js';

/** Stages that have a native implementation (VPP-style names, as the TS stages). */
export const NATIVE_STAGES: readonly string[] = [
  S.ETHERNET_INPUT, S.IP4_INPUT, S.IP4_FORWARD, S.VXLAN4_ENCAP, S.VXLAN4_DECAP, S.NF4_PREROUTING, S.NF4_POSTROUTING,
  S.NF4_FORWARD, S.NF4_INPUT, S.NF4_OUTPUT,
];

/** The node's device table and FDB (joined with the underlay neighbours) in the native layouts. */
export function nodeTables(ctx: NodeContext): { devices: Uint8Array; fdb: Uint8Array } {
  const all = ctx.devices.all;
  const devices = new Uint8Array(all.length * nativeDeviceV1.size);
  all.forEach((d, i) => {
    const o = i * nativeDeviceV1.size;
    nativeDeviceV1.set.mtu(devices, o, d.mtu >>> 0);
    nativeDeviceV1.set.mac_hi(devices, o, (d.mac[0] << 8) | d.mac[1]);
    nativeDeviceV1.set.mac_lo(devices, o, ((d.mac[2] << 24) | (d.mac[3] << 16) | (d.mac[4] << 8) | d.mac[5]) >>> 0);
  });
  const entries = [...ctx.fdb];
  const fdb = new Uint8Array(entries.length * nativeFdbEntryV1.size);
  entries.forEach(([mac, remote], i) => {
    const o = i * nativeFdbEntryV1.size;
    nativeFdbEntryV1.set.remote(fdb, o, remote >>> 0);
    nativeFdbEntryV1.set.mac_hi(fdb, o, Math.floor(mac / 4294967296));
    nativeFdbEntryV1.set.mac_lo(fdb, o, mac % 4294967296);
    // No neighbour: all-zero outer MAC, which the addon reads as HOST_UNREACHABLE (as the TS stage).
    const outer = ctx.neighbours.get(neighbourKey(ctx.nic, remote));
    if (outer) {
      nativeFdbEntryV1.set.outer_mac_hi(fdb, o, (outer[0] << 8) | outer[1]);
      nativeFdbEntryV1.set.outer_mac_lo(fdb, o, ((outer[2] << 24) | (outer[3] << 16) | (outer[4] << 8) | outer[5]) >>> 0);
    }
  });
  return { devices, fdb };
}

type Process = StageDef<NodeContext>['process'];

/**
 * Replaces the overlay fast-path stages of `stages` by native wrappers bound to `pool` and the
 * nodes' tables. Other stages are returned as they are.
 */
export function withNativeStages(
  stages: readonly StageDef<NodeContext>[], addon: NativeAddon, pool: PacketPool, contexts: readonly NodeContext[],
): StageDef<NodeContext>[] {
  const poolH = addon.attachPool({
    bytes: pool.bytes, slotBytes: pool.slotBytes, size: pool.size, start: pool.start, len: pool.len, wireLen: pool.wireLen,
    device: pool.device, next: pool.next, drop: pool.drop, verdict: pool.verdict, l3: pool.l3, l4: pool.l4,
    aux0: pool.aux0, aux1: pool.aux1, aux2: pool.aux2, ownBuf: pool.ownBuf, ct: pool.ct, ctinfo: pool.ctinfo,
    tsSec: pool.tsSec, tsNsec: pool.tsNsec, node: pool.node, ingress: pool.ingress, mark: pool.mark, flags: pool.flags, frameNo: pool.frameNo,
  });
  // Each node's nf_conntrack table: the addon works on the same typed arrays (ConntrackTable.nativeView).
  const ctH: NativeHandle[] = contexts.map((ctx) => addon.attachConntrack(ctx.conntrack.nativeView()));
  const found = new Float64Array(2);
  const forwardProof = contexts.map((ctx) => establishedAccepts(ctx.rules, 'filter', 'FORWARD'));
  // Each node's filter table as a program the addon walks exactly as walk.ts (nf4-output, nf4-input).
  const filterH: NativeHandle[] = contexts.map((ctx) => addon.attachFilter(compileFilter(ctx.rules, ctx.localAddrs)));
  /** The native stage on nodes where `proof` holds, the TS stage elsewhere. */
  const byNode = (ts: StageDef<NodeContext>, proof: boolean[], nat: StageDef<NodeContext>): StageDef<NodeContext> => ({
    ...ts,
    process(rt, slots, n) {
      if (proof[rt.nodeIndex]) nat.process(rt, slots, n, pool);
      else ts.process(rt, slots, n, pool);
    },
  });
  const nodeH: NativeHandle[] = contexts.map((ctx) => {
    const t = nodeTables(ctx);
    const tun = ctx.cluster.tunnel;
    return addon.attachNode({
      devices: t.devices, fdb: t.fdb, nic: ctx.nic, vxlanDev: ctx.vxlanDev, nodeIp: ctx.node.ip32 >>> 0,
      vni: tun.vni >>> 0, port: tun.port, udpCsum: tun.udpCsum, hashSeed: ctx.hashSeed >>> 0,
    });
  });
  // Scratch shared by the wrappers (the engine runs one stage call at a time); a vector never exceeds the pool.
  const hand = new Uint8Array(pool.size);
  const scratch = new Int32Array(pool.size);
  const ipIdBox = new Int32Array(1);

  /** Runs the TS stage on the packets the addon left (hand[i] = 1), in vector order. */
  const rest = (ts: Process, rt: StageRuntime<NodeContext>, slots: Int32Array, n: number): void => {
    let k = 0;
    for (let i = 0; i < n; i++) if (hand[i] === 1) scratch[k++] = slots[i];
    if (k > 0) ts(rt, scratch, k, pool);
  };

  const simple = (ts: StageDef<NodeContext>, call: (node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, rt: StageRuntime<NodeContext>) => number): StageDef<NodeContext> => ({
    ...ts,
    process(rt, slots, n) {
      if (rt.tracing) return ts.process(rt, slots, n, pool);
      const left = call(nodeH[rt.nodeIndex], slots, n, rt.counters.drops, rt);
      rt.counters.nativePackets += n - left;
      if (left > 0) rest(ts.process, rt, slots, n);
    },
  });

  /**
   * Stages over shared conntrack state: the addon runs the vector from `from` and stops at the first
   * packet it leaves; the TS stage runs on that packet and the following ones the addon would also
   * leave (found[1]), and the addon resumes after them, so every entry sees its packets in vector
   * order, as with the TS stage alone.
   */
  const ordered = (ts: StageDef<NodeContext>, call: (rt: StageRuntime<NodeContext>, slots: Int32Array, n: number, from: number) => number): StageDef<NodeContext> => ({
    ...ts,
    process(rt, slots, n) {
      if (rt.tracing) return ts.process(rt, slots, n, pool);
      let from = 0;
      let native = 0;
      while (from < n) {
        const stop = call(rt, slots, n, from);
        native += stop - from;
        if (stop >= n) break;
        // found[1]: the end of the run from `stop` that needs TS as the table stands (exact to hand over).
        const end = Math.max(stop + 1, Math.min(n, found[1]));
        for (let k = stop; k < end; k++) scratch[k - stop] = slots[k];
        ts.process(rt, scratch, end - stop, pool);
        from = end;
      }
      rt.counters.nativePackets += native;
    },
  });

  const encap = (ts: StageDef<NodeContext>): StageDef<NodeContext> => ({
    ...ts,
    process(rt, slots, n) {
      const node = nodeH[rt.nodeIndex];
      const drops = rt.counters.drops;
      // The outer IPv4 ID is a per-node counter taken in packet order: all native or all TS.
      if (rt.tracing || addon.vxlan4Encap(poolH, node, slots, n, drops, hand, ipIdBox, true) < 0) return ts.process(rt, slots, n, pool);
      // The TS stage observes the inner frame leaving the VXLAN device before anything else.
      for (let i = 0; i < n; i++) rt.observe(slots[i], pool.device[slots[i]], 1);
      ipIdBox[0] = rt.ctx.ipId;
      addon.vxlan4Encap(poolH, node, slots, n, drops, hand, ipIdBox, false);
      rt.ctx.ipId = ipIdBox[0];
      rt.counters.nativePackets += n;
    },
  });

  const decap = (ts: StageDef<NodeContext>): StageDef<NodeContext> => ({
    ...ts,
    process(rt, slots, n) {
      if (rt.tracing) return ts.process(rt, slots, n, pool);
      const left = addon.vxlan4Decap(poolH, nodeH[rt.nodeIndex], slots, n, rt.counters.drops, hand);
      rt.counters.nativePackets += n - left;
      const vx = rt.ctx.vxlanDev;
      if (left === 0) {
        for (let i = 0; i < n; i++) if (pool.next[slots[i]] === 0) rt.observe(slots[i], vx, 0);
        return;
      }
      // Interleave in vector order so capture observations come out as the TS stage makes them.
      let k = 0;
      for (let i = 0; i < n; i++) {
        const s = slots[i];
        if (hand[i] === 1) {
          scratch[k++] = s;
          continue;
        }
        if (k > 0) {
          ts.process(rt, scratch, k, pool);
          k = 0;
        }
        if (pool.next[s] === 0) rt.observe(s, vx, 0);
      }
      if (k > 0) ts.process(rt, scratch, k, pool);
    },
  });

  return stages.map((st) => {
    switch (st.name) {
      case S.ETHERNET_INPUT: return simple(st, (node, sl, n, d) => addon.ethernetInput(poolH, node, sl, n, d, hand));
      case S.IP4_INPUT: return simple(st, (node, sl, n, d) => addon.ip4Input(poolH, node, sl, n, d, hand));
      case S.IP4_FORWARD: return simple(st, (node, sl, n, d) => addon.ip4Forward(poolH, node, sl, n, d, hand));
      case S.VXLAN4_ENCAP: return encap(st);
      case S.VXLAN4_DECAP: return decap(st);
      // Established packets only: NEW/INVALID/RELATED, ICMP, expired entries, IPVS scheduling and
      // TCP packets whose state update is not a plain ACCEPT go to the TS stage untouched.
      case S.NF4_PREROUTING: return ordered(st, (rt, sl, n, from) => {
        const stop = addon.nf4Prerouting(poolH, ctH[rt.nodeIndex], sl, n, rt.counters.drops, hand, rt.now, found, from);
        rt.ctx.conntrack.stats.found += found[0];
        return stop;
      });
      case S.NF4_POSTROUTING: return ordered(st, (rt, sl, n, from) => addon.nf4Postrouting(poolH, ctH[rt.nodeIndex], sl, n, rt.counters.drops, hand, from, false, found));
      // Filter hooks: native only on nodes whose chain walk is proven to ACCEPT every established
      // packet with no side effect (filter-proof.ts); elsewhere, and for other packets, the TS stage.
      case S.NF4_FORWARD: return byNode(st, forwardProof, simple(st, (_node, sl, n, d) => addon.nf4Forward(poolH, null, sl, n, d, hand)));
      // Packets whose filter INPUT walk (the compiled program) ACCEPTs, untracked or of confirmed entries.
      case S.NF4_INPUT: return ordered(st, (rt, sl, n, from) => addon.nf4Input(poolH, ctH[rt.nodeIndex], filterH[rt.nodeIndex], sl, n, rt.counters.drops, hand, from, found));
      // Confirmed entries (ESTABLISHED, or NEW with the nat binding done: the outer VXLAN flows) whose
      // NAT keeps the destination address and whose filter OUTPUT walk ACCEPTs; the rest to TS.
      case S.NF4_OUTPUT: return ordered(st, (rt, sl, n, from) => {
        const stop = addon.nf4Output(poolH, ctH[rt.nodeIndex], filterH[rt.nodeIndex], sl, n, rt.counters.drops, hand, rt.now, found, from);
        rt.ctx.conntrack.stats.found += found[0];
        return stop;
      });
      default: return st;
    }
  });
}
