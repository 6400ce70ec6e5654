/**
 * Whole-pipeline packets/s and per-stage ns/packet, TypeScript vs native engine, plus a plain C
 * reference (bench/c-reference/ref.c, compiled here with gcc -O3) over the same frames:
 *   (a) established TCP flows from pod-a (node-1) to the `backend` Service VIP, DNATed to a backend on
 *       node-2/node-3 across VXLAN, with a NetworkPolicy on the backends (ingress from app=client, TCP 8080);
 *   (b) the same with every 10th packet the SYN of a new flow.
 * Timed: loading each frame into the pool, injecting it and running the graph (vectors of 256).
 * Run: `npx vite-node src/native/pipeline-bench.ts [packets]` (needs the addon: npm run build:native).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataplane } from '../dataplane/dataplane.js';
import { buildFrame } from '../packet/build.js';
import { ipv4ToString } from '../packet/format.js';
import { defaultScenarioPath, loadScenarioText, packageRoot } from '../scenario/index.js';
import type { FrameArrays } from './engine-runner.js';
import type { EngineName } from './loader.js';

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
const loaded = loadScenarioText(readFileSync(defaultScenarioPath(), 'utf8') + POLICY, 'bench');
if (!loaded.ok) throw loaded.error;
const cluster = loaded.cluster;
const pod = (n: string) => cluster.pods.find((p) => p.name === n)!;
const podA = pod('pod-a');
const VIP = '10.96.5.20';
const FLOWS = 4096;
const PACKETS = Number(process.argv[2] ?? 300_000);
const BATCH = 2048;

const tcp = (from: string, mac: string, src: string, dst: string, sp: number, dp: number, flags: number, seq: number, ack: number, payload: number): Uint8Array =>
  buildFrame([{ type: 'eth', src: mac, dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src, dst }, { type: 'tcp', srcPort: sp, dstPort: dp, flags, seq, ack, window: 64240 }], new Uint8Array(payload).fill(from.length));

/** The flows' data packets (a), or with a new flow's SYN every 10th packet (b). */
function workload(newFlows: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  let fresh = 20000;
  for (let i = 0; i < PACKETS; i++) {
    if (newFlows && i % 10 === 9) out.push(tcp('a', podA.mac, podA.ip, VIP, fresh++ % 65536 || 1, 80, 0x02, 7, 0, 0));
    else out.push(tcp('a', podA.mac, podA.ip, VIP, 1024 + (i % FLOWS), 80, 0x18, 1001 + 100 * Math.floor(i / FLOWS), 5001, 100));
  }
  return out;
}

/** The frames as a capture in memory: one buffer, offsets, lengths and times (as a capture reader's batch). */
function inMemory(frames: readonly Uint8Array[], t: number): FrameArrays {
  const n = frames.length;
  const buf = new Uint8Array(frames.reduce((a, f) => a + f.length, 0));
  const fa = { buf, offset: new Int32Array(n), caplen: new Int32Array(n), wireLen: new Int32Array(n), tsSec: new Float64Array(n).fill(t), tsNsec: new Uint32Array(n) };
  let o = 0;
  frames.forEach((f, i) => {
    buf.set(f, o);
    fa.offset[i] = o;
    fa.caplen[i] = f.length;
    fa.wireLen[i] = f.length;
    fa.tsNsec[i] = (i * 1000) % 1e9;
    o += f.length;
  });
  return fa;
}

class Bench {
  readonly dp: Dataplane;
  t = 1_700_000_000;
  constructor(readonly engine: EngineName) {
    this.dp = new Dataplane(cluster, { engine, poolSize: 8192, vectorSize: 256 });
    this.handshake();
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
    const sp = Array.from({ length: FLOWS }, (_, i) => 1024 + i);
    for (let k = 0; k < FLOWS; k += BATCH) this.send(sp.slice(k, k + BATCH).map((p) => tcp('a', podA.mac, podA.ip, VIP, p, 80, 0x02, 1000, 0, 0)));
    const ct = this.dp.contexts[0]!.conntrack;
    const be = new Map<number, string>();
    for (const e of ct.entries(0)) be.set(ct.tSport[e * 2]!, ipv4ToString(ct.tSrc[e * 2 + 1]!));
    const replies = sp.map((p) => {
      const b = cluster.pods.find((x) => x.ip === be.get(p))!;
      return tcp('b', b.mac, b.ip, podA.ip, 8080, p, 0x12, 5000, 1001, 0);
    });
    for (let k = 0; k < FLOWS; k += BATCH) this.send(replies.slice(k, k + BATCH));
    for (let k = 0; k < FLOWS; k += BATCH) this.send(sp.slice(k, k + BATCH).map((p) => tcp('a', podA.mac, podA.ip, VIP, p, 80, 0x10, 1001, 5001, 0)));
  }
  /** Seconds to push `frames` (a capture in memory) through the pipeline, in batches. */
  run(frames: readonly Uint8Array[]): number {
    const fa = inMemory(frames, this.t);
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < frames.length; k += BATCH) this.sendArrays(fa, k, Math.min(frames.length, k + BATCH));
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }
  /** Per stage over a run: ns (the engine's per-call timing, either dispatcher), packets, and packets the addon took. */
  stages(frames: readonly Uint8Array[]): Map<string, { ns: number; packets: number; native: number }> {
    const sum = (): Map<string, { ns: number; packets: number; native: number }> => {
      const m = new Map<string, { ns: number; packets: number; native: number }>();
      for (const r of this.dp.engine.runtimeRows()) {
        const a = m.get(r.stage) ?? { ns: 0, packets: 0, native: 0 };
        a.ns += r.ns;
        a.packets += r.packets;
        a.native += r.nativePackets;
        m.set(r.stage, a);
      }
      return m;
    };
    const before = sum();
    this.run(frames);
    const acc = sum();
    for (const [stage, b] of before) {
      const a = acc.get(stage)!;
      a.ns -= b.ns;
      a.packets -= b.packets;
      a.native -= b.native;
    }
    for (const [stage, a] of acc) if (a.packets === 0) acc.delete(stage);
    return acc;
  }
}

/** ns/packet of bench/c-reference/ref.c over the same frames: node-1's work only, and the whole path dpemu emulates. */
function cReference(frames: readonly Uint8Array[]): { node1: number; full: number } | null {
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-cref-'));
  try {
    const bin = join(dir, 'ref');
    execFileSync('gcc', ['-O3', '-march=native', '-o', bin, join(packageRoot(), 'bench/c-reference/ref.c')]);
    const parts: Buffer[] = [];
    for (const f of frames.slice(0, Math.min(frames.length, 100_000))) {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(f.length);
      parts.push(h, Buffer.from(f));
    }
    writeFileSync(join(dir, 'frames.bin'), Buffer.concat(parts));
    const ns = (full: boolean): number => {
      const out = execFileSync(bin, [join(dir, 'frames.bin'), '1000000', ...(full ? ['full'] : [])], { encoding: 'utf8' });
      if (process.env.DPEMU_BENCH_VERBOSE) console.log(`  ref: ${out.trim()}`);
      return Number(/ns_per_packet=([\d.]+)/.exec(out)?.[1]);
    };
    return { node1: ns(false), full: ns(true) };
  } catch (e) {
    console.log(`C reference not run: ${(e as Error).message.split('\n')[0]}`);
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, newFlows] of [['(a) established flows, Service + VXLAN + policy', false], ['(b) 10% new flows', true]] as const) {
  const frames = workload(newFlows);
  const res: Record<EngineName, { pps: number; stages: Map<string, { ns: number; packets: number; native: number }> }> = {} as never;
  for (const engine of ['ts', 'native'] as const) {
    const b = new Bench(engine);
    b.run(frames.slice(0, 20_000)); // warm-up (JIT)
    const wl = workload(newFlows); // fresh new-flow ports: same frames as `frames`, another pass
    const secs = b.run(frames);
    const stages = new Bench(engine).stages(wl);
    res[engine] = { pps: frames.length / secs, stages };
  }
  const c = newFlows ? null : cReference(frames);
  console.log(`\n${name}: ${PACKETS} packets, ${FLOWS} flows`);
  console.log(`  TypeScript  ${(res.ts.pps / 1e6).toFixed(3)} Mpps  (${(1e9 / res.ts.pps).toFixed(0)} ns/packet)`);
  console.log(`  native      ${(res.native.pps / 1e6).toFixed(3)} Mpps  (${(1e9 / res.native.pps).toFixed(0)} ns/packet)  ${(res.native.pps / res.ts.pps).toFixed(2)}x TypeScript`);
  if (c) {
    const nat = 1e9 / res.native.pps;
    console.log(`  C reference, node-1's work (parse, conntrack, DNAT, TTL, policy, VXLAN encap) ${(1000 / c.node1).toFixed(3)} Mpps  (${c.node1.toFixed(1)} ns/packet)  native/C time ratio ${(nat / c.node1).toFixed(1)}x`);
    console.log(`  C reference, the whole path (+ outer conntrack on both nodes, decap, inner conntrack, TTL, ingress policy on node-2) ${(1000 / c.full).toFixed(3)} Mpps  (${c.full.toFixed(1)} ns/packet)  native/C time ratio ${(nat / c.full).toFixed(1)}x`);
  }
  console.log('  stage                 node-packets   ts ns/pkt  native ns/pkt  native share');
  for (const [s, a] of res.ts.stages) {
    const n = res.native.stages.get(s);
    if (!n) continue;
    console.log(`  ${s.padEnd(20)} ${String(a.packets).padStart(13)}  ${(a.ns / a.packets).toFixed(1).padStart(9)}  ${(n.ns / n.packets).toFixed(1).padStart(13)}  ${(100 * n.native / Math.max(1, n.packets)).toFixed(0).padStart(10)}%`);
  }
}
