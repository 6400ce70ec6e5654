/**
 * Runs the same input through the TypeScript and the native engine and reduces each run to what
 * must match: every DeviceCapture frame (bytes, device, direction, times, comment), every packet
 * result (verdict, drop reason, parse error, stage, node, hops) and every counter but the time.
 */
import { createHash } from 'node:crypto';
import { formatConntrack } from '../../src/conntrack/format.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import { DeviceCapture } from '../../src/observe/device-capture.js';
import { Recorder } from '../../src/observe/recorder.js';
import { replay } from '../../src/replay/replay.js';
import type { Cluster } from '../../src/scenario/index.js';
import { BUILD_COMMAND, loadNative, type EngineName } from '../../src/native/loader.js';

/**
 * The addon must be built for these suites: a missing addon fails them (in CI and locally) with
 * the command to build it, never a skip.
 */
export function assertNativeBuilt(): void {
  const l = loadNative();
  if (!l.ok) throw new Error(`native addon not available (${l.reason}): run \`${BUILD_COMMAND}\`${process.env.CI ? ' (CI: the install-time build failed, see the npm ci log)' : ''}`);
}

export interface RunDigest {
  readonly frames: string[];
  readonly results: string[];
  readonly counters: string[];
  readonly nativePackets: number;
  readonly packets: number;
  /** `node stage nativePackets` per row: which packets the addon took (not compared across engines). */
  readonly stageNative: string[];
  /** Per node: `conntrack -L` at the end, -S counters, and a digest of every table array (byte-exact memory). */
  readonly conntrack: string[];
  /** Per node: every eBPF map (whole buffer: entries, LRU order, stats) and the IPVS table (mapDump). */
  readonly maps: string[];
}

/** sha256 over the bytes of each view, in order. */
export function hashArrays(arrays: readonly ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

/**
 * The other maps both engines must leave identical, per node: each eBPF map's name, entry count,
 * lookup/update stats and a digest of its whole buffer (header, entries, free list, LRU order), and
 * the IPVS connection table's arrays with its cursors, counts, stats and every dest's counters.
 */
export function mapDump(dp: Dataplane): string[] {
  return dp.contexts.map((c) => {
    const out: string[] = [c.node.name];
    const eb = c.ebpf;
    if (eb) {
      for (const m of [eb.ct, eb.ctAny, eb.sockConn, eb.reverseSk, eb.affinity, eb.services, eb.backends, eb.revNat, eb.ipcache, eb.snat]) {
        out.push(`${m.name} n${m.count} ${JSON.stringify(m.stats())} ${hashArrays([m.bytes])}`);
      }
    }
    const v = c.ipvs;
    if (v) {
      const t = v.conns;
      out.push(`ipvs conns ${t.count} ${JSON.stringify(t.stats)} ` +
        hashArrays([t.proto, t.caddr, t.cport, t.vaddr, t.vport, t.daddr, t.dport, t.state, t.flags, t.expires, t.timeout, t.svc, t.dest, t.control, t.nControl, t.next, t.heads, t.used, t.cursors]) +
        ` dests ${JSON.stringify(v.services.map((s) => s.dests.map((d) => [d.activeConns, d.inactConns, d.persistConns])))}`);
    }
    return out.join('\n');
  });
}

/** Every array the addon may write, hashed, plus the printed table and stats: both engines must leave the same memory. */
export function conntrackDump(dp: Dataplane): string[] {
  return dp.contexts.map((ctx) => {
    const ct = ctx.conntrack;
    const v = ct.nativeView();
    // Entries are taken from a free stack in index order: hash up to the highest slot ever used
    // (a freed slot keeps status DYING), per-node arrays at twice that, and the non-empty buckets.
    let hw = v.max;
    while (hw > 0 && v.slot[hw - 1] === 0 && v.status[hw - 1] === 0) hw--;
    const h = createHash('sha256');
    const perEntry = [v.proto, v.slot, v.tcpState, v.lastIndex, v.lastDir, v.retrans, v.lastFlags, v.lastWscale, v.zone, v.lastWin,
      v.status, v.lastSeq, v.lastAck, v.lastEnd, v.deadline, v.streamTs];
    const perNode = [v.tSrc, v.tDst, v.tSport, v.tDport, v.tNext, v.tcpFlags, v.tdScale, v.tdEnd, v.tdMaxEnd, v.tdMaxWin, v.tdMaxAck];
    // A table array added later must be hashed too: every typed array of the view is listed or a parameter.
    const listed = new Set<unknown>([...perEntry, ...perNode, v.buckets, v.tcpTimeouts, v.transitions, v.validFlags, v.count]);
    const missing = Object.entries(v).filter(([, a]) => ArrayBuffer.isView(a) && !listed.has(a)).map(([k]) => k);
    if (missing.length) throw new Error(`conntrackDump does not hash ${missing.join(', ')}`);
    for (const a of perEntry) h.update(new Uint8Array(a.buffer, a.byteOffset, hw * a.BYTES_PER_ELEMENT));
    for (const a of perNode) h.update(new Uint8Array(a.buffer, a.byteOffset, 2 * hw * a.BYTES_PER_ELEMENT));
    const heads: number[] = [];
    for (let b = 0; b < v.buckets.length; b++) if (v.buckets[b] !== -1) heads.push(b, v.buckets[b]);
    h.update(new Uint8Array(Int32Array.from(heads).buffer));
    const now = 0; // absolute deadlines: the memory digest covers them exactly anyway
    const rows = ct.entries(now).map((e) => formatConntrack(ct, e, now));
    return `${ctx.node.name} count ${ct.count} stats ${JSON.stringify(ct.stats)} mem ${h.digest('hex')}\n${rows.join('\n')}`;
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export function newDataplane(cluster: Cluster, engine: EngineName, vectorSize = 256): { dp: Dataplane; rec: Recorder; cap: DeviceCapture } {
  const observers: EngineObserver[] = [];
  const dp = new Dataplane(cluster, { observers, engine, vectorSize, poolSize: 4096 });
  const rec = new Recorder(dp.pool, false);
  const cap = new DeviceCapture(dp.pool, dp.devices.all);
  observers.push(rec, cap);
  return { dp, rec, cap };
}

export function digest(dp: Dataplane, rec: Recorder, cap: DeviceCapture): RunDigest {
  const rows = dp.engine.runtimeRows();
  return {
    frames: cap.frames.map((f) => `${f.device}/${f.dir} #${f.frame} ${f.tsSec}.${f.tsNsec} w${f.wireLen} ${f.comment} ${hex(f.bytes)}`),
    results: rec.take().map((r) => `#${r.frame}${r.generated ? '+' : ''} v${r.verdict} d${r.drop} pe${r.parseError} ${r.stage} n${r.node} i${r.ingress} ${r.tsSec}.${r.tsNsec} hops ${r.hops.map((h) => `${h.node}:${h.device}/${h.dir}`).join(',')}`),
    counters: rows.map((r) => `${r.node} ${r.stage} calls ${r.calls} packets ${r.packets} drops ${r.drops.map((d) => `${d.code}x${d.count}`).join(',')}`),
    nativePackets: rows.reduce((a, r) => a + r.nativePackets, 0),
    packets: rows.reduce((a, r) => a + r.packets, 0),
    stageNative: rows.map((r) => `${r.node} ${r.stage} ${r.nativePackets}`),
    conntrack: conntrackDump(dp),
    maps: mapDump(dp),
  };
}

/**
 * `at`: attach every frame there (as --at) instead of by its sender. `batching` defaults to `answers`, as many
 * frames per vector as the answer rule allows: the parity suites are there to run the engines' vector handling.
 */
export async function replayDigest(capture: string, cluster: Cluster, engine: EngineName, vectorSize = 256, at?: string, batching: 'exact' | 'answers' = 'answers'): Promise<RunDigest> {
  const { dp, rec, cap } = newDataplane(cluster, engine, vectorSize);
  await replay({ capture, cluster, vectorSize, batching, ...(at !== undefined ? { at } : {}) }, dp);
  return digest(dp, rec, cap);
}
