/**
 * Loads the native addon (native/build/Release/dpemu_native.node, built by node-gyp during
 * `npm install`) and picks the engine: `--engine native|ts`, else DPEMU_ENGINE, else native when
 * the addon loaded and TypeScript otherwise, with a one-line notice. Asking for native when the
 * addon is missing is an error, never a silent fallback.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ConntrackNativeView } from '../conntrack/table.js';
import type { IpvsNativeView } from '../ipvs/ipvs.js';
import type { FilterProgram } from './filter-program.js';
import { packageRoot } from '../scenario/default-path.js';
import { DpemuError } from '../util/errors.js';

export type EngineName = 'native' | 'ts';
export const ENGINE_NAMES: readonly EngineName[] = ['native', 'ts'];

export const BUILD_COMMAND = 'npm run build:native';

/** `--engine native` (or DPEMU_ENGINE=native) and the addon could not be loaded. */
export class NativeEngineUnavailable extends DpemuError {
  constructor(readonly reason: string) {
    super(
      'NATIVE_ENGINE_UNAVAILABLE',
      `the native engine was requested but the addon is not available: ${reason}. ` +
        `Build it with \`${BUILD_COMMAND}\` (needs g++, make, python3 and the Node headers), or run with --engine ts / DPEMU_ENGINE=ts.`,
    );
  }
}

/** An engine name that is neither `native` nor `ts`. */
export class EngineChoiceError extends DpemuError {
  constructor(source: string, value: string) {
    super('ENGINE_CHOICE', `${source} is "${value}": use native or ts`);
  }
}

/** What the addon exports (native/src/addon.cc). Handles are opaque externals. */
export interface NativeAddon {
  readonly abiVersion: number;
  attachPool(arrays: NativePoolArrays): NativeHandle;
  attachNode(tables: NativeNodeTables): NativeHandle;
  ethernetInput(pool: NativeHandle, node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  ip4Input(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  ip4Forward(pool: NativeHandle, node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  vxlan4Encap(pool: NativeHandle, node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ipId: Int32Array, checkOnly: boolean): number;
  vxlan4Decap(pool: NativeHandle, node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  attachConntrack(view: ConntrackNativeView): NativeHandle;
  /** The dispatcher over the engine's arrays (engine-runner.ts); engineRun returns 0 idle, 1 yield, 2 partial call. */
  attachEngine(arrays: NativeEngineArrays, pool: NativeHandle, nodes: readonly NativeHandle[], conntrack: readonly NativeHandle[]): NativeHandle;
  engineRun(engine: NativeHandle): number;
  /** Tables of stages attached after the engine (IPv4 routing, devices) and per-node flags refreshed at each run (reassembly table empty; policy4 native / policy on) with policy4's open bits. */
  /** Per node, the compiled filter tables (nf4-input / nf4-output). */
  engineFilters(engine: NativeHandle, filters: readonly NativeHandle[]): void;
  engineTables(engine: NativeHandle, ip4: readonly NativeHandle[], reassemblyEmpty: Uint8Array, devices: NativeHandle | null, policyFlags: Uint8Array, open: Uint8Array): void;
  /** Copies frames `from`..`from+count` of a buffer into fresh slots and queues them (PacketPool.load + Dataplane.inject); returns how many it queued. */
  engineInject(engine: NativeHandle, buf: Uint8Array, offset: Int32Array, caplen: Int32Array, wireLen: Int32Array, tsSec: Float64Array, tsNsec: Uint32Array,
    from: number, count: number, frameNo: number, device: number, node: number, stage: number, headroom: number): number;
  /**
   * Packets of established connections from index `from`; returns the index of the walk's stop (n when
   * none). out[0] receives the lookups to add to ConntrackStats.found, out[1] the end of the run of
   * packets from the stop that all need TS, out[2] the packets deferred to TS before the stop (marked in
   * handBack; walkDeferring in native/src/pool.h). Float64Array(3); the other conntrack hooks the same.
   */
  nf4Prerouting(pool: NativeHandle, ct: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, now: number, out: Float64Array, from: number): number;
  /** nf4-postrouting: untracked packets and packets of confirmed entries whose nat binding is set up. */
  nf4Postrouting(pool: NativeHandle, ct: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, from: number, out: Float64Array, now: number): number;
  /** nf4-forward when its filter walk is proven to accept established packets: passes them, marks the rest. */
  /** nf4-forward: the filter FORWARD walk over the compiled program for every packet; packets whose walk does not end in a plain ACCEPT are left (handBack). */
  nf4Forward(pool: NativeHandle, ct: NativeHandle, filter: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  /** The IPv4 stages' node tables (src/native/ip4-tables.ts); the addon keeps its own copy. */
  attachIp4(tables: NativeIp4Tables): NativeHandle;
  /** ip4-lookup: returns the packets left (no route: ICMP network unreachable). */
  ip4Lookup(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ip4: NativeHandle): number;
  /** ip4-output: neighbour and L2 rewrite; leaves packets that need fragmentation. */
  ip4Output(pool: NativeHandle, node: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ip4: NativeHandle): number;
  ip4Local(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ip4: NativeHandle): number;
  /** ip4-defrag: non-fragments pass; fragments are left, and every packet unless expiryDone (the TS prologue, expireReassembly, ran for this vector). */
  ip4Defrag(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, expiryDone: boolean): number;
  /** nodeport4 / ipvs4-in / sock4-connect: the pass-through cases; anything needing a map or table lookup is left. */
  nodeport4(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ip4: NativeHandle): number;
  /**
   * ipvs4-in from index `from` (ordered): passes what needs neither scheduling, expiry nor a dest counter change
   * (no IPVS, not TCP/UDP; with the node's IPVS, replies and client packets of live connections, packets to no
   * virtual server, TCP packets without SYN); returns the index of the first packet the TS stage must take; out: as nf4Prerouting (out[2] 0: it never defers).
   */
  ipvs4In(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ip4: NativeHandle, from: number, out: Float64Array, ipvs: NativeHandle | null, now: number): number;
  /** A node's IPVS (Ipvs.nativeView()). */
  attachIpvs(view: IpvsNativeView): NativeHandle;
  /** Per node, the dispatcher's attachIpvs handle or null. */
  engineIpvs(engine: NativeHandle, ipvs: readonly (NativeHandle | null)[]): void;
  /**
   * sock4-connect from index `from` (ordered): passes what needs no LB decision (no eBPF, not IPv4 TCP/UDP; with the
   * node's socket-LB maps, a connected socket's packet rewritten to its backend, or a destination that is no frontend);
   * returns the index of the first packet the TS stage must take (n when none), out: as nf4Prerouting (out[2] 0 where it never defers).
   */
  sock4Connect(pool: NativeHandle, node: NativeHandle | null, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, ip4: NativeHandle, from: number, out: Float64Array, sock: NativeHandle | null): number;
  /** A node's socket-LB maps (sock4_conn, lb4_services: their `bytes`). */
  attachBpfSock(maps: { conn: Uint8Array; services: Uint8Array }): NativeHandle;
  /** The cluster's device table for the edge stages (deviceTable() in src/native/stages.ts). */
  attachDevices(table: NativeDeviceTable): NativeHandle;
  /** frame-input: common frames parsed and attached natively; the rest marked for the TS stage. Returns packets left. */
  frameInput(pool: NativeHandle, devices: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  vethXmit(pool: NativeHandle, devices: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array): number;
  /** underlay-xmit for unicast frames sent by the node's NIC (device `nic`); group destinations are left. */
  underlayXmit(pool: NativeHandle, devices: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, nic: number): number;
  /**
   * policy4-egress/ingress from index `from`: passes what needs no policy decision; returns the index of
   * the first packet the TS stage must take (n when none), out: as nf4Prerouting (out[2] 0 where it never defers).
   * open[device]: bit 0 / bit 1 = no policy selects the endpoint in egress / ingress (new flows pass).
   */
  policy4(pool: NativeHandle, devices: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, from: number, egress: boolean, policyOn: boolean, out: Float64Array, open: Uint8Array, ebpfCt: NativeHandle | null, now: number): number;
  /** A node's eBPF conntrack maps (ct4_global, ct_any4: their `bytes`) and Cilium's lifetimes in seconds, for policy4's records. */
  attachBpfCt(ct: { tcp: Uint8Array; any: Uint8Array; lifeTcp: number; lifeTcpSyn: number; lifeTcpFin: number; lifeAny: number }): NativeHandle;
  /** Per node, the dispatcher's attachBpfCt handle (kube-proxy ebpf mode) or null. */
  engineEbpf(engine: NativeHandle, ct: readonly (NativeHandle | null)[], sock: readonly (NativeHandle | null)[]): void;
  /** A node's filter table as compiled by src/native/filter-program.ts. */
  attachFilter(program: FilterProgram): NativeHandle;
  /** The native filter walk for one packet [src, dst, proto, sport, dport, mark, ctstate] from built-in chain index `chain`: the mark after ACCEPT, or -1 (TS walks). */
  filterWalk(filter: NativeHandle, chain: number, pkt: Uint32Array): number;
  /** A HashMap/LruHashMap's buffer (its `bytes`) as native/src/bpfmap.h sees it. */
  attachBpfHash(bytes: Uint8Array): NativeHandle;
  /** Value byte offset or -1: mode 0 a lookup as HashMap.lookup (counts, LRU touch); 1 a peek that changes nothing; 2 a peek then hit() on its entry. */
  bpfHashLookup(map: NativeHandle, key: Uint8Array, mode: 0 | 1 | 2): number;
  /** The conntrack hooks' deferred-entry set (native/src/pool.h DeferredEntries): out[i] = has(queries[i]) after the adds. For tests. */
  deferredEntriesProbe(adds: Int32Array, queries: Int32Array, out: Uint8Array): void;
  /**
   * nf4-output for TCP/UDP packets of confirmed entries (ESTABLISHED, or NEW once DST_NAT_DONE) whose
   * NAT keeps the destination address and whose filter OUTPUT walk ACCEPTs; returns the stop index,
   * out[0] the lookups to add to ConntrackStats.found, out[1] the end of the run that needs TS, out[2] deferred.
   */
  nf4Output(pool: NativeHandle, ct: NativeHandle, filter: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, now: number, out: Float64Array, from: number): number;
  /** nf4-input for packets whose filter INPUT walk ACCEPTs (untracked or confirmed entries); stop index, out[1] end of the TS run, out[2] deferred. */
  nf4Input(pool: NativeHandle, ct: NativeHandle, filter: NativeHandle, slots: Int32Array, n: number, drops: Float64Array, handBack: Uint8Array, from: number, out: Float64Array, now: number): number;
  layouts(): NativeLayouts;
}

declare const handleBrand: unique symbol;
export interface NativeHandle { readonly [handleBrand]: true }

export interface NativePoolArrays {
  readonly bytes: Uint8Array;
  readonly slotBytes: number;
  readonly size: number;
  readonly start: Int32Array;
  readonly len: Int32Array;
  readonly wireLen: Int32Array;
  readonly device: Int32Array;
  readonly next: Int16Array;
  readonly drop: Uint16Array;
  readonly verdict: Uint8Array;
  readonly l3: Int32Array;
  readonly l4: Int32Array;
  readonly aux0: Int32Array;
  readonly aux1: Int32Array;
  readonly aux2: Int32Array;
  readonly ownBuf: Uint8Array;
  readonly ct: Int32Array;
  readonly ctinfo: Uint8Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly node: Int16Array;
  readonly ingress: Int32Array;
  readonly mark: Uint32Array;
  readonly flags: Uint32Array;
  readonly frameNo: Int32Array;
}

export interface NativeEngineArrays {
  readonly stages: number;
  readonly nodes: number;
  readonly vectorSize: number;
  readonly counterWords: number;
  readonly queues: Int32Array;
  readonly heads: Int32Array;
  readonly tails: Int32Array;
  readonly pending: Int32Array;
  readonly vector: Int32Array;
  readonly nextIds: Int32Array;
  readonly counters: Float64Array;
  readonly kind: Uint8Array;
  readonly hand: Uint8Array;
  readonly freeList: Int32Array;
  readonly freeTop: Int32Array;
  readonly deferred: Int32Array;
  readonly deferredCount: Int32Array;
  readonly settings: Uint8Array;
  readonly call: Int32Array;
  readonly found: Float64Array;
  readonly ipId: Int32Array;
}

export interface NativeNodeTables {
  readonly devices: Uint8Array;
  readonly fdb: Uint8Array;
  readonly nic: number;
  readonly vxlanDev: number;
  readonly nodeIp: number;
  readonly vni: number;
  readonly port: number;
  readonly udpCsum: boolean;
  readonly hashSeed: number;
}

export interface NativeIp4Tables {
  /** native_route_v1 rows in RouteTable order. */
  readonly routes: Uint8Array;
  /** native_neighbour_v1 rows. */
  readonly neighbours: Uint8Array;
  /** DeviceKind per device id. */
  readonly deviceKinds: Uint8Array;
  readonly vxlan: boolean;
  readonly tunnelPort: number;
  readonly ebpf: boolean;
  readonly ipvs: boolean;
  readonly nodeIp: number;
  readonly snatIp: number;
}

/** Devices for the edge stages: per device kind, node, peer, has-pod, MAC high 16 / low 32 bits (native/src/edge.h). */
export interface NativeDeviceTable {
  readonly info: Int32Array;
  readonly nicOf: Int32Array;
  readonly vxlanPort: number;
}

export interface NativeLayouts {
  readonly structs: Record<string, { size: number; align: number; offsets: Record<string, number> }>;
  readonly dropReasons: Record<string, string>;
  readonly maxDropCode: number;
  readonly sanitizers: string;
}

export type NativeLoad = { readonly ok: true; readonly addon: NativeAddon; readonly path: string } | { readonly ok: false; readonly reason: string; readonly path: string };

/** Where the addon is: DPEMU_NATIVE_PATH (e.g. the ASan build) or native/build/Release. */
export function nativeAddonPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DPEMU_NATIVE_PATH || join(packageRoot(), 'native', 'build', 'Release', 'dpemu_native.node');
}

let cached: NativeLoad | undefined;

/** Loads the addon once; a failure is a value with the reason, never a throw. */
export function loadNative(): NativeLoad {
  if (cached) return cached;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    cached = { ok: false, reason: `${path} does not exist (the addon was not built)`, path };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    cached = addon.abiVersion === 1
      ? { ok: true, addon, path }
      : { ok: false, reason: `${path} has ABI ${String(addon.abiVersion)}, dpemu needs 1 (rebuild it)`, path };
  } catch (e) {
    cached = { ok: false, reason: `${path} failed to load: ${(e as Error).message.split('\n')[0]}`, path };
  }
  return cached;
}

/** The loaded addon, or NativeEngineUnavailable with the reason and the build command. */
export function requireNative(): NativeAddon {
  const l = loadNative();
  if (!l.ok) throw new NativeEngineUnavailable(l.reason);
  return l.addon;
}

export interface SelectOptions {
  /** Where the one-line notice goes when the default falls back to TypeScript (default: stderr). */
  readonly notice?: (line: string) => void;
  readonly load?: () => NativeLoad;
}

function parseEngine(source: string, value: string): EngineName {
  const v = value.trim().toLowerCase();
  if (v === 'native' || v === 'ts') return v;
  throw new EngineChoiceError(source, value);
}

/**
 * The engine to run: the flag wins, then DPEMU_ENGINE; `native` named explicitly and not loadable
 * throws NativeEngineUnavailable. Unnamed: native when the addon loads, else ts with a notice.
 */
export function selectEngine(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, opts: SelectOptions = {}): EngineName {
  const load = opts.load ?? loadNative;
  const asked = flag !== undefined && flag !== '' ? parseEngine('--engine', flag)
    : env.DPEMU_ENGINE ? parseEngine('DPEMU_ENGINE', env.DPEMU_ENGINE) : null;
  if (asked === 'ts') return 'ts';
  const l = load();
  if (asked === 'native') {
    if (!l.ok) throw new NativeEngineUnavailable(l.reason);
    return 'native';
  }
  if (l.ok) return 'native';
  (opts.notice ?? ((line: string) => process.stderr.write(`${line}\n`)))(
    `dpemu: native addon not loaded (${l.reason}); running the TypeScript engine (build it with \`${BUILD_COMMAND}\`)`,
  );
  return 'ts';
}
