/**
 * The issue's two whole-pipeline workloads, shared by the suite (`npm run bench`, rows `issue-a/*`, `issue-b/*`)
 * and `npx vite-node src/native/pipeline-bench.ts`:
 *   (a) established TCP flows (4096) from pod-a (node-1) to the `backend` Service VIP 10.96.5.20:80, DNATed to a
 *       backend on node-2/node-3 across VXLAN, with a NetworkPolicy on the backends (ingress from app=client, TCP 8080);
 *   (b) the same with every 10th packet the SYN of a new flow.
 * Frames are queued as a capture batch (one buffer + offsets) with `Dataplane.injectFrames`, so the native engine
 * queues them natively and its dispatcher runs the graph (no trace, no per-call sampler: nothing turns it off).
 * Timed per batch: queueing the batch and running the graph to empty. Per-stage ns/packet come from the engine's
 * counters (each call timed by the dispatcher that made it, C++ or JavaScript), as deltas per batch.
 * Plus bench/c-reference/ref.c (gcc -O3 -march=native) over the same frames: node-1's work only, and the full path.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataplane } from '../dataplane/dataplane.js';
import type { Cluster } from '../scenario/model.js';
import type { FrameArrays } from '../native/engine-runner.js';
import type { EngineName } from '../native/loader.js';
import { buildFrame } from '../packet/build.js';
import { ipv4ToString } from '../packet/format.js';
import { defaultScenarioPath, loadScenarioText, packageRoot } from '../scenario/index.js';
import { quantile } from './stats.js';

const POLICY = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: backend-from-client, namespace: default }
spec:
  podSelector: { matchLabels: { app: backend } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ podSelector: { matchLabels: { app: client } } }]
      ports: [{ protocol: TCP, port: 8080 }]
`;

export const ISSUE_VIP = '10.96.5.20';
/** Established flows of both workloads. */
export const ISSUE_FLOWS = 4096;
/** Frames per capture batch (one injectFrames + one run): one vector, as the issue's "one call per vector (e.g. 256 frames)". */
export const ISSUE_BATCH = 256;

export type WorkloadId = 'a' | 'b';
export const WORKLOADS: readonly { readonly id: WorkloadId; readonly name: string; readonly newFlows: boolean }[] = [
  { id: 'a', name: '(a) established TCP flows through a Service with VXLAN and policy', newFlows: false },
  { id: 'b', name: '(b) the same with 10% new flows (every 10th packet a new flow\'s SYN)', newFlows: true },
];

const clusterCache = new Map<string, Cluster>();
/**
 * The default scenario (3 nodes, VXLAN, the `backend` Service) plus the NetworkPolicy on the backends; in
 * kube-proxy mode `mode` (the scenario's iptables by default; ebpf: socket LB and bpf_lxc's conntrack).
 */
export function issueCluster(mode: 'iptables' | 'ebpf' | 'ipvs' = 'iptables'): Cluster {
  const hit = clusterCache.get(mode);
  if (hit) return hit;
  const text = readFileSync(defaultScenarioPath(), 'utf8').replace(/^(\s*mode:) iptables\b/m, `$1 ${mode}`);
  const loaded = loadScenarioText(text + POLICY, 'bench');
  if (!loaded.ok) throw loaded.error;
  if (loaded.cluster.kubeProxy.mode !== mode) throw new Error(`issue workload: the default scenario's kube-proxy mode did not become ${mode}`);
  clusterCache.set(mode, loaded.cluster);
  return loaded.cluster;
}

const podOf = (cluster: Cluster, n: string) => {
  const p = cluster.pods.find((x) => x.name === n);
  if (!p) throw new Error(`issue workload: the default scenario has no pod ${n}`);
  return p;
};

const tcp = (from: string, mac: string, src: string, dst: string, sp: number, dp: number, flags: number, seq: number, ack: number, payload: number): Uint8Array =>
  buildFrame([{ type: 'eth', src: mac, dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src, dst }, { type: 'tcp', srcPort: sp, dstPort: dp, flags, seq, ack, window: 64240 }], new Uint8Array(payload).fill(from.length));

/**
 * `packets` frames of the flows' data (100 B payload, round-robin over the flows), or with a new flow's SYN every
 * 10th packet. `start` continues a sequence: packet i of a call with start s is packet s + i of one long workload
 * (sequence numbers keep advancing, new-flow ports stay new), so a warm-up and a timed run never repeat a frame.
 */
export function issueWorkload(newFlows: boolean, packets: number, start = 0): Uint8Array[] {
  const podA = podOf(issueCluster(), 'pod-a');
  const out: Uint8Array[] = [];
  let fresh = 20000 + Math.floor(start / 10);
  for (let j = 0; j < packets; j++) {
    const i = start + j;
    if (newFlows && i % 10 === 9) out.push(tcp('a', podA.mac, podA.ip, ISSUE_VIP, fresh++ % 65536 || 1, 80, 0x02, 7, 0, 0));
    else out.push(tcp('a', podA.mac, podA.ip, ISSUE_VIP, 1024 + (i % ISSUE_FLOWS), 80, 0x18, 1001 + 100 * Math.floor(i / ISSUE_FLOWS), 5001, 100));
  }
  return out;
}

/** Frames as a capture in memory: one buffer, offsets, lengths and times (as a capture reader's batch). */
export function inMemory(frames: readonly Uint8Array[], t: number | ((i: number) => number), tsNsec: (i: number) => number = (i) => (i * 1000) % 1e9): FrameArrays {
  const n = frames.length;
  const buf = new Uint8Array(frames.reduce((a, f) => a + f.length, 0));
  const fa = { buf, offset: new Int32Array(n), caplen: new Int32Array(n), wireLen: new Int32Array(n), tsSec: new Float64Array(n), tsNsec: new Uint32Array(n) };
  let o = 0;
  frames.forEach((f, i) => {
    buf.set(f, o);
    fa.offset[i] = o;
    fa.caplen[i] = f.length;
    fa.wireLen[i] = f.length;
    fa.tsSec[i] = typeof t === 'number' ? t : t(i);
    fa.tsNsec[i] = tsNsec(i);
    o += f.length;
  });
  return fa;
}

/** Per stage (summed over nodes): ns, calls, node-packets, packets the native code took. */
export interface StageTotals {
  ns: number;
  calls: number;
  packets: number;
  native: number;
}

/** One batch's timing: wall ns of the batch and the per-stage counter deltas. */
export interface BatchSample {
  readonly packets: number;
  readonly ns: number;
  readonly stages: ReadonlyMap<string, StageTotals>;
}

export class IssueBench {
  readonly dp: Dataplane;
  readonly t = 1_700_000_000;
  readonly mode: 'iptables' | 'ebpf' | 'ipvs';
  constructor(readonly engine: EngineName, opts: { nativeDispatch?: boolean; mode?: 'iptables' | 'ebpf' | 'ipvs' } = {}) {
    this.mode = opts.mode ?? 'iptables';
    this.dp = new Dataplane(issueCluster(this.mode), { engine, poolSize: 8192, vectorSize: 256, ...(opts.nativeDispatch === false ? { nativeDispatch: false } : {}) });
    this.handshake();
  }
  /** Whether the engine's run loop is the native dispatcher (set for engine native, and nothing turns it off here). */
  get nativeDispatch(): boolean {
    const e = this.dp.engine;
    return e.runner !== null && !e.tracing && e.onCall === null;
  }
  send(frames: readonly Uint8Array[]): void {
    this.sendArrays(inMemory(frames, this.t), 0, frames.length);
  }
  /** Queues frames from..to of the in-memory capture (one addon call with the native dispatcher) and runs the graph. */
  sendArrays(fa: FrameArrays, from: number, to: number): void {
    this.dp.injectFrames(fa, from, to - from, from + 1);
    this.dp.run();
  }
  /** SYN, SYN/ACK from the backend each flow was DNATed to, ACK: every flow ESTABLISHED and ASSURED. */
  handshake(): void {
    const cluster = issueCluster(this.mode);
    const podA = podOf(cluster, 'pod-a');
    const sp = Array.from({ length: ISSUE_FLOWS }, (_, i) => 1024 + i);
    for (let k = 0; k < ISSUE_FLOWS; k += ISSUE_BATCH) this.send(sp.slice(k, k + ISSUE_BATCH).map((p) => tcp('a', podA.mac, podA.ip, ISSUE_VIP, p, 80, 0x02, 1000, 0, 0)));
    const ct = this.dp.contexts[0]!.conntrack;
    const be = new Map<number, string>();
    for (const e of ct.entries(0)) be.set(ct.tSport[e * 2]!, ipv4ToString(ct.tSrc[e * 2 + 1]!));
    const replies = sp.map((p) => {
      const b = cluster.pods.find((x) => x.ip === be.get(p));
      if (!b) throw new Error(`issue workload: flow from port ${p} was not DNATed to a backend pod`);
      return tcp('b', b.mac, b.ip, podA.ip, 8080, p, 0x12, 5000, 1001, 0);
    });
    for (let k = 0; k < ISSUE_FLOWS; k += ISSUE_BATCH) this.send(replies.slice(k, k + ISSUE_BATCH));
    for (let k = 0; k < ISSUE_FLOWS; k += ISSUE_BATCH) this.send(sp.slice(k, k + ISSUE_BATCH).map((p) => tcp('a', podA.mac, podA.ip, ISSUE_VIP, p, 80, 0x10, 1001, 5001, 0)));
  }
  /** Seconds to push `frames` (a capture in memory) through the pipeline, in batches (no counter reads in between). */
  run(frames: readonly Uint8Array[]): number {
    const fa = inMemory(frames, this.t);
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < frames.length; k += ISSUE_BATCH) this.sendArrays(fa, k, Math.min(frames.length, k + ISSUE_BATCH));
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }
  /** The engine's counters summed over nodes, per stage. */
  totals(): Map<string, StageTotals> {
    const m = new Map<string, StageTotals>();
    for (const r of this.dp.engine.runtimeRows()) {
      const a = m.get(r.stage) ?? { ns: 0, calls: 0, packets: 0, native: 0 };
      a.ns += r.ns;
      a.calls += r.calls;
      a.packets += r.packets;
      a.native += r.nativePackets;
      m.set(r.stage, a);
    }
    return m;
  }
  /** Batch by batch: each batch timed alone (inject + run), the counters read between batches (outside the timing). */
  sampled(frames: readonly Uint8Array[]): BatchSample[] {
    const fa = inMemory(frames, this.t);
    const out: BatchSample[] = [];
    let before = this.totals();
    for (let k = 0; k < frames.length; k += ISSUE_BATCH) {
      const to = Math.min(frames.length, k + ISSUE_BATCH);
      const t0 = process.hrtime.bigint();
      this.sendArrays(fa, k, to);
      const ns = Number(process.hrtime.bigint() - t0);
      const after = this.totals();
      out.push({ packets: to - k, ns, stages: diff(after, before) });
      before = after;
    }
    return out;
  }
  /** Per stage over a run: the counters' deltas (ns, calls, packets, packets the addon took). */
  stages(frames: readonly Uint8Array[]): Map<string, StageTotals> {
    const before = this.totals();
    this.run(frames);
    return diff(this.totals(), before);
  }
}

function diff(after: ReadonlyMap<string, StageTotals>, before: ReadonlyMap<string, StageTotals>): Map<string, StageTotals> {
  const out = new Map<string, StageTotals>();
  for (const [stage, a] of after) {
    const b = before.get(stage);
    const d = { ns: a.ns - (b?.ns ?? 0), calls: a.calls - (b?.calls ?? 0), packets: a.packets - (b?.packets ?? 0), native: a.native - (b?.native ?? 0) };
    if (d.packets > 0) out.set(stage, d);
  }
  return out;
}

/** Sums batch samples per stage. */
export function sumStages(samples: readonly BatchSample[]): Map<string, StageTotals> {
  const m = new Map<string, StageTotals>();
  for (const s of samples) {
    for (const [stage, d] of s.stages) {
      const a = m.get(stage) ?? { ns: 0, calls: 0, packets: 0, native: 0 };
      a.ns += d.ns;
      a.calls += d.calls;
      a.packets += d.packets;
      a.native += d.native;
      m.set(stage, a);
    }
  }
  return m;
}

/** p50/p99 of a per-batch figure (nearest rank). */
export function batchQuantiles(values: readonly number[]): { p50: number; p99: number } {
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99) };
}

/** ns/packet of bench/c-reference/ref.c over the same frames: node-1's work only, and the whole path dpemu emulates. */
export interface CReference {
  readonly node1Ns: number;
  readonly fullNs: number;
  /** Packets the C loop ran (cycling over the frames). */
  readonly packets: number;
}

/** Compiles and runs the C reference; `{ error }` when gcc or the run fails (reported, never a zero). */
export function cReference(frames: readonly Uint8Array[], packets = 1_000_000): CReference | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-cref-'));
  try {
    const bin = join(dir, 'ref');
    execFileSync('gcc', ['-O3', '-march=native', '-o', bin, join(packageRoot(), 'bench/c-reference/ref.c')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    for (const f of frames.slice(0, Math.min(frames.length, 100_000))) {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(f.length);
      parts.push(h, Buffer.from(f));
    }
    writeFileSync(join(dir, 'frames.bin'), Buffer.concat(parts));
    const ns = (full: boolean): number => {
      const out = execFileSync(bin, [join(dir, 'frames.bin'), String(packets), ...(full ? ['full'] : [])], { encoding: 'utf8' });
      if (process.env.DPEMU_BENCH_VERBOSE) console.log(`  ref: ${out.trim()}`);
      const v = Number(/ns_per_packet=([\d.]+)/.exec(out)?.[1]);
      if (!(v > 0)) throw new Error(`unexpected output: ${out.trim()}`);
      return v;
    };
    return { node1Ns: ns(false), fullNs: ns(true), packets };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One engine's figures on one workload (dispatcher as the engine runs by default: on for native). */
export interface WorkloadRun {
  readonly engine: EngineName;
  readonly packets: number;
  /** Wall ns over all batches (queue + run), counters read outside it. */
  readonly ns: number;
  readonly batches: readonly BatchSample[];
  readonly stages: ReadonlyMap<string, StageTotals>;
  /** The engine's run loop was the native dispatcher. */
  readonly nativeDispatch: boolean;
  /** Ns in stage calls per node over the timed batches (node-1's share is the work the C reference's node-1 mode does). */
  readonly nodeNs: ReadonlyMap<string, number>;
}

function nsByNode(b: IssueBench): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of b.dp.engine.runtimeRows()) m.set(r.node, (m.get(r.node) ?? 0) + r.ns);
  return m;
}

/** Handshake, `warm` packets of warm-up (JIT, tables), then `packets` more of the same workload, batch by batch. */
export function measureWorkload(engine: EngineName, newFlows: boolean, packets: number, warm: number): WorkloadRun {
  const b = new IssueBench(engine);
  b.run(issueWorkload(newFlows, warm));
  const frames = issueWorkload(newFlows, packets, warm);
  const before = nsByNode(b);
  const batches = b.sampled(frames);
  const nodeNs = new Map([...nsByNode(b)].map(([node, ns]) => [node, ns - (before.get(node) ?? 0)] as const));
  return { engine, packets, ns: batches.reduce((a, s) => a + s.ns, 0), batches, stages: sumStages(batches), nativeDispatch: b.nativeDispatch, nodeNs };
}
