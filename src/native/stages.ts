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
import { expireReassembly } from '../stages/ip4-defrag.js';
import type { PolicyEngine } from '../policy/engine.js';
import { S } from '../stages/names.js';
import { ip4Tables } from './ip4-tables.js';
import { compileFilter } from './filter-program.js';
import { nativeDeviceV1, nativeFdbEntryV1 } from './layouts.js';
import type { NativeAddon, NativeDeviceTable, NativeHandle } from './loader.js';

/** Stages that have a native implementation (VPP-style names, as the TS stages). */
export const NATIVE_STAGES: readonly string[] = [
  S.ETHERNET_INPUT, S.IP4_INPUT, S.IP4_FORWARD, S.VXLAN4_ENCAP, S.VXLAN4_DECAP, S.NF4_PREROUTING, S.NF4_POSTROUTING,
  S.NF4_FORWARD, S.NF4_INPUT, S.NF4_OUTPUT,
  S.IP4_LOOKUP, S.IP4_OUTPUT, S.IP4_DEFRAG, S.IP4_LOCAL, S.NODEPORT4, S.IPVS4_IN, S.SOCK4_CONNECT,
  S.FRAME_INPUT, S.UNDERLAY_XMIT, S.POLICY4_EGRESS, S.POLICY4_INGRESS, S.VETH_XMIT,
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

/** The cluster's device table for the edge stages (layout in native/src/edge.h: 6 words per device). */
export function deviceTable(ctx: NodeContext): NativeDeviceTable {
  const all = ctx.devices.all;
  const info = new Int32Array(all.length * 6);
  all.forEach((d, i) => {
    const o = i * 6;
    info[o] = d.kind;
    info[o + 1] = d.node;
    info[o + 2] = d.peer;
    info[o + 3] = d.pod ? 1 : 0;
    info[o + 4] = (d.mac[0] << 8) | d.mac[1];
    info[o + 5] = (d.mac[2] << 24) | (d.mac[3] << 16) | (d.mac[4] << 8) | d.mac[5];
  });
  // ctx.view decodes exactly this UDP port as VXLAN (node-context.ts).
  return { info, nicOf: Int32Array.from(ctx.devices.nicOf), vxlanPort: ctx.cluster.tunnel.port & 0xffff };
}

type Process = StageDef<NodeContext>['process'];

/** Native twins' ids in the dispatcher (native/src/dispatch.h StageKind); 0: the call is JavaScript's. */
export const StageKind = {
  JS: 0, ETHERNET_INPUT: 1, IP4_INPUT: 2, IP4_FORWARD: 3, VXLAN4_ENCAP: 4, VXLAN4_DECAP: 5, NF4_PREROUTING: 6,
  NF4_POSTROUTING: 7, NF4_FORWARD: 8, NF4_INPUT: 9, IP4_LOOKUP: 10, IP4_OUTPUT: 11, IP4_LOCAL: 12, IP4_DEFRAG: 13,
  NODEPORT4: 14, IPVS4_IN: 15, SOCK4_CONNECT: 16, FRAME_INPUT: 17, VETH_XMIT: 18, UNDERLAY_XMIT: 19, POLICY4_EGRESS: 20,
  POLICY4_INGRESS: 21, NF4_OUTPUT: 22,
} as const;

/** A dispatcher result meaning "nothing was done natively": the wrapper's whole `process` runs. */
export const NOTHING_DONE = 0x7fffffff;

/**
 * A wrapper the native dispatcher can run without JavaScript: its twin's kind per node (0 where the
 * TS stage must run, e.g. no addon tables for that node), whether the TS stage reports capture observations (then
 * the dispatcher leaves it to JavaScript while observers listen), and `finish`, which completes a
 * call the dispatcher left partly done (`result`: packets left, or the index it stopped at; `deferred`:
 * packets a conntrack hook left before that index, marked in the hand-back array).
 */
export interface NativeStageDef extends StageDef<NodeContext> {
  readonly native: {
    readonly kind: (node: number) => number;
    readonly observing: boolean;
    finish(rt: StageRuntime<NodeContext>, slots: Int32Array, n: number, result: number, runEnd: number, deferred: number): void;
  };
}

/** The native wrappers plus what the dispatcher needs to run them (engine-runner.ts). */
export interface NativeStages {
  readonly stages: StageDef<NodeContext>[];
  readonly addon: NativeAddon;
  readonly pool: NativeHandle;
  readonly nodes: readonly NativeHandle[];
  readonly conntrack: readonly NativeHandle[];
  /** The cluster's device table for the edge stages (null: no node). */
  readonly devices: NativeHandle | null;
  /**
   * Per node, at each dispatcher run: bit 0 policy4-* may run natively (no flow waiting for the L7
   * proxy; eBPF state only with its maps attached), bit 1 a policy engine is on, bit 2 eBPF state
   * (the native stage records established packets in ct4_global); refreshes `open` for it.
   */
  policyFlags(ctx: NodeContext): number;
  /** Per device: bit 0/1 no policy selects its pod in egress/ingress (policy4's open table). */
  readonly open: Uint8Array;
  /** Per node: the compiled filter table (filter-program.ts). */
  readonly filters: readonly NativeHandle[];
  /** Per node: the IPv4 routing tables (ip4-tables.ts). */
  readonly ip4: readonly NativeHandle[];
  /** Per node: its eBPF conntrack maps for policy4's records (kube-proxy ebpf mode), else null. */
  readonly ebpfCt: readonly (NativeHandle | null)[];
  /** Per node: its socket-LB maps for sock4-connect (kube-proxy ebpf mode), else null. */
  readonly ebpfSock: readonly (NativeHandle | null)[];
  /** Per node: its IPVS for ipvs4-in (kube-proxy ipvs mode), else null. */
  readonly ipvs: readonly (NativeHandle | null)[];
  /** Before a dispatcher run: copies each IPVS's per-service dest counts to the memory the addon reads. */
  refreshIpvs(): void;
  /** Hand-back marks shared by the wrappers and the dispatcher. */
  readonly hand: Uint8Array;
}

/**
 * Replaces the stages of `stages` that have native twins by wrappers bound to `pool` and the nodes'
 * tables (other stages are returned as they are), with the handles the native dispatcher attaches to.
 */
export function nativeStages(
  stages: readonly StageDef<NodeContext>[], addon: NativeAddon, pool: PacketPool, contexts: readonly NodeContext[],
): NativeStages {
  const poolH = addon.attachPool({
    bytes: pool.bytes, slotBytes: pool.slotBytes, size: pool.size, start: pool.start, len: pool.len, wireLen: pool.wireLen,
    device: pool.device, next: pool.next, drop: pool.drop, verdict: pool.verdict, l3: pool.l3, l4: pool.l4,
    aux0: pool.aux0, aux1: pool.aux1, aux2: pool.aux2, ownBuf: pool.ownBuf, ct: pool.ct, ctinfo: pool.ctinfo,
    tsSec: pool.tsSec, tsNsec: pool.tsNsec, node: pool.node, ingress: pool.ingress, mark: pool.mark, flags: pool.flags, frameNo: pool.frameNo,
  });
  // Each node's nf_conntrack table: the addon works on the same typed arrays (ConntrackTable.nativeView).
  const ctH: NativeHandle[] = contexts.map((ctx) => addon.attachConntrack(ctx.conntrack.nativeView()));
  // A native ordered call's outputs: [0] conntrack lookups found, [1] end of the run TS takes, [2] packets deferred.
  const found = new Float64Array(3);
  // Each node's filter table as a program the addon walks exactly as walk.ts (nf4-output, nf4-input).
  const filterH: NativeHandle[] = contexts.map((ctx) => addon.attachFilter(compileFilter(ctx.rules, ctx.localAddrs)));
  const nodeH: NativeHandle[] = contexts.map((ctx) => {
    const t = nodeTables(ctx);
    const tun = ctx.cluster.tunnel;
    return addon.attachNode({
      devices: t.devices, fdb: t.fdb, nic: ctx.nic, vxlanDev: ctx.vxlanDev, nodeIp: ctx.node.ip32 >>> 0,
      vni: tun.vni >>> 0, port: tun.port, udpCsum: tun.udpCsum, hashSeed: ctx.hashSeed >>> 0,
    });
  });
  // The IPv4 stages' tables (routes, neighbours, device kinds), one handle per node.
  const ip4H: NativeHandle[] = contexts.map((ctx) => addon.attachIp4(ip4Tables(ctx)));
  // kube-proxy ebpf mode: the node's ct4_global / ct_any4 maps (bpf_lxc's records of established packets in policy4).
  const ebpfCtH: (NativeHandle | null)[] = contexts.map((ctx) => {
    const eb = ctx.ebpf;
    if (eb === null) return null;
    const c = eb.config;
    return addon.attachBpfCt({
      tcp: eb.ct.bytes, any: eb.ctAny.bytes,
      lifeTcp: c.ctTimeoutRegularTcp, lifeTcpSyn: c.ctTimeoutRegularTcpSyn, lifeTcpFin: c.ctTimeoutRegularTcpFin, lifeAny: c.ctTimeoutRegularAny,
    });
  });
  // kube-proxy ipvs mode: the node's connection table and virtual servers (ipvs4-in for live connections).
  const ipvsViews = contexts.map((ctx) => (ctx.ipvs === null ? null : ctx.ipvs.nativeView()));
  const ipvsH: (NativeHandle | null)[] = ipvsViews.map((v) => (v === null ? null : addon.attachIpvs(v)));
  const refreshIpvs = (): void => {
    for (let i = 0; i < contexts.length; i++) {
      const v = ipvsViews[i];
      if (v !== null) contexts[i].ipvs!.destCounts(v.destCount);
    }
  };
  // ... and its socket-LB maps (sock4-connect: connected sockets and frontends).
  const ebpfSockH: (NativeHandle | null)[] = contexts.map((ctx) => (ctx.ebpf === null ? null : addon.attachBpfSock({ conn: ctx.ebpf.sockConn.bytes, services: ctx.ebpf.services.bytes })));
  // Scratch shared by the wrappers (the engine runs one stage call at a time); a vector never exceeds the pool.
  const hand = new Uint8Array(pool.size);
  const scratch = new Int32Array(pool.size);
  const ipIdBox = new Int32Array(1);

  /** Counts the packets the addon took and runs the TS stage on those it left (hand[i] = 1), in vector order. */
  const rest = (ts: Process, rt: StageRuntime<NodeContext>, slots: Int32Array, n: number, left: number): void => {
    rt.counters.nativePackets += n - left;
    if (left === 0) return;
    let k = 0;
    for (let i = 0; i < n; i++) if (hand[i] === 1) scratch[k++] = slots[i];
    if (k > 0) ts(rt, scratch, k, pool);
  };

  /**
   * After a simple twin's call, in vector order so capture observations come out as the TS stage makes
   * them: `each` for every packet the addon took, the TS stage on each run of packets it left, at its place.
   */
  const interleave = (ts: StageDef<NodeContext>, rt: StageRuntime<NodeContext>, slots: Int32Array, n: number, each: (s: number) => void): void => {
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
      each(s);
    }
    if (k > 0) ts.process(rt, scratch, k, pool);
  };

  const simple = (ts: StageDef<NodeContext>, kind: number, call: (node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, rt: StageRuntime<NodeContext>) => number): NativeStageDef => {
    const wrapper: NativeStageDef = {
      ...ts,
      process(rt, slots, n) {
        if (rt.tracing) return ts.process(rt, slots, n, pool);
        const left = call(nodeH[rt.nodeIndex], slots, n, rt.counters.drops, rt);
        rest(ts.process, rt, slots, n, left);
      },
      native: {
        kind: () => kind,
        observing: false,
        finish(rt, slots, n, left) {
          if (left === NOTHING_DONE) return wrapper.process(rt, slots, n, pool);
          rest(ts.process, rt, slots, n, left);
        },
      },
    };
    return wrapper;
  };

  /**
   * Stages over shared state: the addon runs the vector from `from` and stops at the first packet it
   * leaves; the TS stage runs on that packet and the following ones the addon would also leave
   * (found[1]), and the addon resumes after them, so every entry sees its packets in vector order, as
   * with the TS stage alone. The conntrack hooks and policy4 may also leave packets before their stop
   * and go on (found[2] of them, marked in `hand`; walkDeferring in native/src/pool.h; 0 for the other
   * stages): the TS stage runs those first, then the stopped run, in vector order. `guard`, when given, says whether
   * the addon may run on the node now (checked before the first call and after every TS run, which
   * may change it); when it may not, the TS stage takes the rest of the vector.
   */
  const ordered = (ts: StageDef<NodeContext>, kind: number, call: (rt: StageRuntime<NodeContext>, slots: Int32Array, n: number, from: number) => number, guard?: (ctx: NodeContext) => boolean): NativeStageDef => {
    /**
     * From a native call over [from, stop) that left `deferred` packets there and stopped at `stop` (runEnd:
     * the run that needs TS), TS and native in turns to the end. Returns the packets the addon took.
     */
    const resume = (rt: StageRuntime<NodeContext>, slots: Int32Array, n: number, from: number, stop: number, runEnd: number, deferred: number): number => {
      let native = 0;
      for (;;) {
        native += stop - from - deferred;
        if (stop >= n && deferred === 0) break;
        // runEnd: the end of the run from `stop` that needs TS as the table stands (exact to hand over).
        const end = stop >= n ? n : Math.max(stop + 1, Math.min(n, runEnd));
        let k = 0;
        if (deferred > 0) for (let i = from; i < stop; i++) if (hand[i] === 1) scratch[k++] = slots[i];
        for (let i = stop; i < end; i++) scratch[k++] = slots[i];
        ts.process(rt, scratch, k, pool);
        if (end >= n) break;
        if (guard && !guard(rt.ctx)) {
          for (let i = end; i < n; i++) scratch[i - end] = slots[i];
          ts.process(rt, scratch, n - end, pool);
          break;
        }
        from = end;
        stop = call(rt, slots, n, end);
        runEnd = found[1];
        deferred = found[2];
      }
      return native;
    };
    const wrapper: NativeStageDef = {
      ...ts,
      process(rt, slots, n) {
        if (rt.tracing || (guard && !guard(rt.ctx))) return ts.process(rt, slots, n, pool);
        const stop = call(rt, slots, n, 0);
        rt.counters.nativePackets += resume(rt, slots, n, 0, stop, found[1], found[2]);
      },
      native: {
        kind: () => kind,
        observing: false,
        finish(rt, slots, n, stop, runEnd, deferred) {
          if (stop === NOTHING_DONE) return wrapper.process(rt, slots, n, pool);
          rt.counters.nativePackets += resume(rt, slots, n, 0, stop < 0 ? n : stop, runEnd, deferred);
        },
      },
    };
    return wrapper;
  };

  const encap = (ts: StageDef<NodeContext>): NativeStageDef => ({
    ...ts,
    // The dispatcher runs it only when the whole vector can go native; else the TS stage takes it all.
    native: { kind: () => StageKind.VXLAN4_ENCAP, observing: true, finish: (rt, slots, n) => ts.process(rt, slots, n, pool) },
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

  const decap = (ts: StageDef<NodeContext>): NativeStageDef => ({
    ...ts,
    native: {
      kind: () => StageKind.VXLAN4_DECAP,
      observing: true,
      // Without observers (the only case the dispatcher runs it) the decapsulated packets already moved to the VXLAN device.
      finish(rt, slots, n, left) {
        rest(ts.process, rt, slots, n, left);
      },
    },
    process(rt, slots, n) {
      if (rt.tracing) return ts.process(rt, slots, n, pool);
      const left = addon.vxlan4Decap(poolH, nodeH[rt.nodeIndex], slots, n, rt.counters.drops, hand);
      rt.counters.nativePackets += n - left;
      const vx = rt.ctx.vxlanDev;
      if (left === 0) {
        for (let i = 0; i < n; i++) if (pool.next[slots[i]] === 0) rt.observe(slots[i], vx, 0);
        return;
      }
      interleave(ts, rt, slots, n, (s) => { if (pool.next[s] === 0) rt.observe(s, vx, 0); });
    },
  });

  // The device table is the cluster's (every node context shares it).
  const devices = contexts.length > 0 ? contexts[0].devices : null;
  const devH: NativeHandle | null = contexts.length > 0 ? addon.attachDevices(deviceTable(contexts[0])) : null;

  /**
   * Edge stages whose TS twin observes per packet: the addon runs the vector, then `after` observes
   * each packet it took, in vector order, with the TS stage run on each run of left packets at its
   * place, so captures come out in the TS stage's order.
   */
  const observed = (ts: StageDef<NodeContext>, kind: number, call: (rt: StageRuntime<NodeContext>, slots: Int32Array, n: number) => number, after: (rt: StageRuntime<NodeContext>, s: number) => void): NativeStageDef => ({
    ...ts,
    // The dispatcher runs these only while nobody observes; then `after` only re-sets pool.device
    // to what the addon wrote, and the left packets (stateless stages) can run after the rest.
    native: {
      kind: () => (devH === null ? StageKind.JS : kind),
      observing: true,
      finish(rt, slots, n, left) {
        rest(ts.process, rt, slots, n, left);
      },
    },
    process(rt, slots, n) {
      if (rt.tracing || devH === null) return ts.process(rt, slots, n, pool);
      const left = call(rt, slots, n);
      rt.counters.nativePackets += n - left;
      interleave(ts, rt, slots, n, (s) => after(rt, s));
    },
  });

  /**
   * Per device: bit 0 / bit 1 when no policy selects its pod in egress / ingress. In the iptables
   * model such a pod's chain ACCEPTs every new flow (iptables-policy.ts workloadRules), so new flows
   * pass without a walk. Rebuilt when the engine is re-applied (apply() sets a new diagnostics array).
   */
  const open = new Uint8Array(devices ? devices.all.length : 0);
  const noneOpen = new Uint8Array(0);
  let openFor: unknown = null;
  const openOf = (pe: PolicyEngine): Uint8Array => {
    if (openFor === pe.diagnostics) return open;
    openFor = pe.diagnostics;
    open.fill(0);
    if (pe.opts.mode !== 'iptables' || !devices) return open;
    for (const d of devices.all) {
      const ep = d.pod ? pe.endpoint(d.pod) : undefined;
      if (ep) open[d.id] = (ep.egress.enforced ? 0 : 1) | (ep.ingress.enforced ? 0 : 2);
    }
    return open;
  };

  /**
   * policy4-*: the addon passes what needs no decision and stops at the first packet the policy must
   * decide; the TS stage runs that run, and the addon resumes. A flow REDIRECTed to the L7 proxy
   * (proxied) or eBPF state (ct4_global records) sends the rest of the vector to TS.
   */
  /** policy4-* runs natively on a node with no flow waiting for the L7 proxy (and, with eBPF state, its maps attached). */
  const policyNative = (ctx: NodeContext): boolean => devH !== null && ctx.proxied.size === 0 && (ctx.ebpf === null || ebpfCtH[contexts.indexOf(ctx)] != null);
  const policy = (ts: StageDef<NodeContext>, egress: boolean, kind: number): NativeStageDef =>
    ordered(ts, devH === null ? StageKind.JS : kind, (rt, slots, n, from) => {
      const ctx = rt.ctx;
      const on = ctx.policy !== null;
      return addon.policy4(poolH, devH!, slots, n, rt.counters.drops, hand, from, egress, on, found, on ? openOf(ctx.policy!) : noneOpen,
        ctx.ebpf === null ? null : ebpfCtH[rt.nodeIndex], rt.now);
    }, policyNative);
  const wrapped = stages.map((st): StageDef<NodeContext> => {
    switch (st.name) {
      case S.ETHERNET_INPUT: return simple(st, StageKind.ETHERNET_INPUT, (node, sl, n, d) => addon.ethernetInput(poolH, node, sl, n, d, hand));
      case S.IP4_INPUT: return simple(st, StageKind.IP4_INPUT, (node, sl, n, d) => addon.ip4Input(poolH, node, sl, n, d, hand));
      case S.IP4_FORWARD: return simple(st, StageKind.IP4_FORWARD, (node, sl, n, d) => addon.ip4Forward(poolH, node, sl, n, d, hand));
      case S.VXLAN4_ENCAP: return encap(st);
      case S.VXLAN4_DECAP: return decap(st);
      // Established packets only: NEW/INVALID/RELATED, ICMP, expired entries, IPVS scheduling and
      // TCP packets whose state update is not a plain ACCEPT go to the TS stage untouched (TCP/UDP
      // ones deferred with their entry's later packets, the rest stopping the walk).
      case S.NF4_PREROUTING: return ordered(st, StageKind.NF4_PREROUTING, (rt, sl, n, from) => {
        const stop = addon.nf4Prerouting(poolH, ctH[rt.nodeIndex], sl, n, rt.counters.drops, hand, rt.now, found, from);
        rt.ctx.conntrack.stats.found += found[0];
        return stop;
      });
      case S.NF4_POSTROUTING: return ordered(st, StageKind.NF4_POSTROUTING, (rt, sl, n, from) => addon.nf4Postrouting(poolH, ctH[rt.nodeIndex], sl, n, rt.counters.drops, hand, from, found, rt.now));
      // The filter FORWARD walk over the compiled program; walks that end elsewhere go to the TS stage.
      case S.NF4_FORWARD: return simple(st, StageKind.NF4_FORWARD, (_node, sl, n, d, rt) => addon.nf4Forward(poolH, ctH[rt.nodeIndex], filterH[rt.nodeIndex], sl, n, d, hand));
      // IPv4 routing: no route (ICMP) and fragmentation go to the TS stage.
      case S.IP4_LOOKUP: return simple(st, StageKind.IP4_LOOKUP, (_node, sl, n, d, rt) => addon.ip4Lookup(poolH, null, sl, n, d, hand, ip4H[rt.nodeIndex]));
      case S.IP4_OUTPUT: return simple(st, StageKind.IP4_OUTPUT, (node, sl, n, d, rt) => addon.ip4Output(poolH, node, sl, n, d, hand, ip4H[rt.nodeIndex]));
      case S.IP4_LOCAL: return simple(st, StageKind.IP4_LOCAL, (_node, sl, n, d, rt) => addon.ip4Local(poolH, null, sl, n, d, hand, ip4H[rt.nodeIndex]));
      // Fragments go to the TS stage. Its prologue (expiring reassembly queues at the vector's
      // time) runs first here, as the TS stage runs it before any packet; the non-fragments never
      // touch the table, and the TS stage's own prologue then finds nothing due.
      case S.IP4_DEFRAG: return simple(st, StageKind.IP4_DEFRAG, (_node, sl, n, d, rt) => {
        expireReassembly(rt);
        return addon.ip4Defrag(poolH, null, sl, n, d, hand, true);
      });
      // eBPF / IPVS hooks: native only where the TS stage passes the packet on untouched.
      case S.NODEPORT4: return simple(st, StageKind.NODEPORT4, (_node, sl, n, d, rt) => addon.nodeport4(poolH, null, sl, n, d, hand, ip4H[rt.nodeIndex]));
      // Ordered: live connections' state and the sweep cursor are shared with the TS stage's scheduling.
      case S.IPVS4_IN: return ordered(st, StageKind.IPVS4_IN, (rt, sl, n, from) => {
        const v = ipvsViews[rt.nodeIndex];
        if (v !== null) rt.ctx.ipvs!.destCounts(v.destCount);
        return addon.ipvs4In(poolH, null, sl, n, rt.counters.drops, hand, ip4H[rt.nodeIndex], from, found, ipvsH[rt.nodeIndex], rt.now);
      });
      // Ordered: a connected socket's lookup touches the LRU map that TS writes for new connections.
      case S.SOCK4_CONNECT: return ordered(st, StageKind.SOCK4_CONNECT, (rt, sl, n, from) =>
        addon.sock4Connect(poolH, null, sl, n, rt.counters.drops, hand, ip4H[rt.nodeIndex], from, found, ebpfSockH[rt.nodeIndex]));
      // Common frames (Ethernet/VLAN, IPv4, TCP/UDP/ICMP) attached at a preset device or by source MAC;
      // a frame received at a node device (next 1) is observed there, as the TS stage does.
      case S.FRAME_INPUT: return observed(st, StageKind.FRAME_INPUT, (rt, sl, n) => addon.frameInput(poolH, devH!, sl, n, rt.counters.drops, hand), (rt, s) => {
        if (pool.next[s] === 1) rt.observe(s, pool.device[s], 0);
      });
      // Unicast frames to a node's NIC or out of the cluster: observed sent by the NIC, then received.
      case S.UNDERLAY_XMIT: return observed(st, StageKind.UNDERLAY_XMIT, (rt, sl, n) => addon.underlayXmit(poolH, devH!, sl, n, rt.counters.drops, hand, rt.ctx.nic), (rt, s) => {
        // The TS stage observes the send before moving the packet to the receiving node (observers
        // record pool.node): the packet was on this stage's node (the engine queues by pool.node).
        const to = pool.device[s];
        const node = pool.node[s];
        pool.node[s] = rt.nodeIndex;
        rt.observe(s, rt.ctx.nic, 1);
        pool.node[s] = node;
        if (pool.next[s] === 0) rt.observe(s, to, 0);
      });
      // The addon moved the packet to the peer: observed sent by the peer's peer, then received.
      case S.VETH_XMIT: return observed(st, StageKind.VETH_XMIT, (rt, sl, n) => addon.vethXmit(poolH, devH!, sl, n, rt.counters.drops, hand), (rt, s) => {
        const to = pool.device[s];
        rt.observe(s, devices!.get(to).peer, 1);
        rt.observe(s, to, 0);
      });
      case S.POLICY4_EGRESS: return policy(st, true, StageKind.POLICY4_EGRESS);
      case S.POLICY4_INGRESS: return policy(st, false, StageKind.POLICY4_INGRESS);
      // Packets whose filter INPUT walk (the compiled program) ACCEPTs, untracked or of confirmed entries.
      case S.NF4_INPUT: return ordered(st, StageKind.NF4_INPUT, (rt, sl, n, from) => addon.nf4Input(poolH, ctH[rt.nodeIndex], filterH[rt.nodeIndex], sl, n, rt.counters.drops, hand, from, found, rt.now));
      // Confirmed entries (ESTABLISHED, or NEW with the nat binding done: the outer VXLAN flows) whose
      // NAT keeps the destination address and whose filter OUTPUT walk ACCEPTs; the rest to TS.
      case S.NF4_OUTPUT: return ordered(st, StageKind.NF4_OUTPUT, (rt, sl, n, from) => {
        const stop = addon.nf4Output(poolH, ctH[rt.nodeIndex], filterH[rt.nodeIndex], sl, n, rt.counters.drops, hand, rt.now, found, from);
        rt.ctx.conntrack.stats.found += found[0];
        return stop;
      });
      default: return st;
    }
  });
  const policyFlags = (ctx: NodeContext): number => {
    if (!policyNative(ctx)) return 0;
    const ebpf = ctx.ebpf === null ? 0 : 4;
    if (ctx.policy === null) return 1 | ebpf;
    openOf(ctx.policy);
    return 3 | ebpf;
  };
  return { stages: wrapped, addon, pool: poolH, nodes: nodeH, conntrack: ctH, ip4: ip4H, ebpfCt: ebpfCtH, ebpfSock: ebpfSockH, ipvs: ipvsH, refreshIpvs, devices: devH, policyFlags, open, filters: filterH, hand };
}
