import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import type { EngineObserver } from '../../src/engine/runtime.js';
import { Recorder } from '../../src/observe/recorder.js';
import { buildFrame } from '../../src/packet/build.js';
import { ipv4ToString } from '../../src/packet/format.js';
import { issueCluster } from '../../src/bench/issue-workloads.js';
import { assertNativeBuilt, conntrackDump, hashArrays, mapDump } from './parity-helpers.js';

/**
 * The native dispatcher (native/src/dispatch.cc) runs the engine's loop over the engine's arrays.
 * Exactness is checked on everything a run leaves behind, with no capture observer (so the observed
 * stages run natively and packets are freed natively) and with a final-only observer (packets
 * deferred to JavaScript): per-stage counters, each node's conntrack memory and outer IPv4 ID,
 * every byte of the packet pool (the freed slots keep their last frame: the same slots were taken
 * in the same order and written the same way) with its metadata and free stack, and the results.
 * Engines: TypeScript, native with one addon call per stage call, native with the dispatcher.
 */
assertNativeBuilt();

// The bench's cluster: the default scenario with a NetworkPolicy on the backends (ingress from app=client,
// TCP 8080), in kube-proxy iptables, ebpf (socket LB, bpf_lxc's conntrack records in policy4) and ipvs mode.
type KpMode = 'iptables' | 'ebpf' | 'ipvs';
const podA = issueCluster().pods.find((p) => p.name === 'pod-a')!;
const VIP = '10.96.5.20';

const tcp = (mac: string, src: string, dst: string, sp: number, dp: number, flags: number, seq: number, ack: number, payload: number): Uint8Array =>
  buildFrame([{ type: 'eth', src: mac, dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src, dst }, { type: 'tcp', srcPort: sp, dstPort: dp, flags, seq, ack, window: 64240 }], new Uint8Array(payload).fill(0x61));

type Mode = 'ts' | 'per-stage' | 'dispatch';

interface Outcome { counters: string[]; conntrack: string[]; maps: string[]; policyNative: number; ipvsNative: number; ipIds: number[]; pool: string; results: string[]; native: number; carried: number }

/** Handshakes `flows` flows through the Service, then data with a new flow's SYN every `newEvery` packets and some RSTs. */
function run(mode: Mode, withFinal: boolean, flows: number, packets: number, newEvery: number, vectorSize: number, batch: number, kp: KpMode = 'iptables', ctMax = 0): Outcome {
  const base = issueCluster(kp);
  // A small nf_conntrack_max fills the tables: new flows early-drop unassured entries (the outer VXLAN flows).
  const cluster = ctMax > 0 ? { ...base, conntrack: { ...base.conntrack, max: ctMax } } : base;
  const observers: EngineObserver[] = [];
  const dp = new Dataplane(cluster, { engine: mode === 'ts' ? 'ts' : 'native', nativeDispatch: mode === 'dispatch', observers, vectorSize, poolSize: 4096 });
  const rec = new Recorder(dp.pool, false);
  if (withFinal) observers.push(rec);
  let t = 1_700_000_000;
  let frameNo = 0;
  // Frames as a capture in memory: one buffer and offsets (Dataplane.injectFrames: natively copied with the dispatcher).
  const send = (frames: Uint8Array[]): void => {
    for (let k = 0; k < frames.length; k += batch) {
      const part = frames.slice(k, k + batch);
      const buf = new Uint8Array(part.reduce((a, f) => a + f.length + 3, 0));
      const n = part.length;
      const fa = { buf, offset: new Int32Array(n), caplen: new Int32Array(n), wireLen: new Int32Array(n), tsSec: new Float64Array(n).fill(t), tsNsec: new Uint32Array(n) };
      let o = 0;
      part.forEach((f, i) => {
        buf.set(f, o + 3);
        fa.offset[i] = o + 3;
        fa.caplen[i] = f.length;
        fa.wireLen[i] = f.length;
        fa.tsNsec[i] = ((frameNo + i + 1) * 7919) % 1e9;
        o += f.length + 3;
      });
      dp.injectFrames(fa, 0, n, frameNo + 1);
      frameNo += n;
      dp.run();
      t += 0.25;
    }
  };
  const sp = Array.from({ length: flows }, (_, i) => 1024 + i);
  send(sp.map((p) => tcp(podA.mac, podA.ip, VIP, p, 80, 0x02, 1000, 0, 0)));
  const ct = dp.contexts[0]!.conntrack;
  const be = new Map<number, string>();
  for (const e of ct.entries(0)) be.set(ct.tSport[e * 2]!, ipv4ToString(ct.tSrc[e * 2 + 1]!));
  send(sp.map((p) => { const b = cluster.pods.find((x) => x.ip === be.get(p))!; return tcp(b.mac, b.ip, podA.ip, 8080, p, 0x12, 5000, 1001, 0); }));
  send(sp.map((p) => tcp(podA.mac, podA.ip, VIP, p, 80, 0x10, 1001, 5001, 0)));
  const data: Uint8Array[] = [];
  const later = new Map<number, Uint8Array>();
  let fresh = 30000;
  for (let i = 0; i < packets; i++) {
    const p = sp[i % flows]!;
    if (newEvery > 0 && i % newEvery === newEvery - 1) data.push(tcp(podA.mac, podA.ip, VIP, fresh++, 80, 0x02, 7, 0, 0));
    else if (i % 499 === 498) data.push(tcp(podA.mac, podA.ip, VIP, p, 80, 0x18, 1, 5001, 17000)); // too big for a slot: pool.load's private buffer
    else if (i % 97 === 96) data.push(tcp(podA.mac, podA.ip, VIP, p, 80, 0x04, 1001 + 100 * Math.floor(i / flows), 0, 0));
    else if (i % 131 === 130) {
      // The backend closes: FIN|ACK, and the same FIN again two batches later (a state move that keeps the
      // connection inactive, so the native stages take it).
      const b = cluster.pods.find((x) => x.ip === be.get(p))!;
      const fin = tcp(b.mac, b.ip, podA.ip, 8080, p, 0x11, 5001, 1001 + 100 * Math.floor(i / flows), 0);
      data.push(fin);
      later.set(i + 2 * batch, fin);
    } else if (later.has(i)) data.push(later.get(i)!);
    else data.push(tcp(podA.mac, podA.ip, VIP, p, 80, 0x18, 1001 + 100 * Math.floor(i / flows), 5001, 100));
  }
  send(data);
  const pool = dp.pool;
  const rows = dp.engine.runtimeRows();
  return {
    counters: rows.map((r) => `${r.node} ${r.stage} calls ${r.calls} packets ${r.packets} drops ${r.drops.map((d) => `${d.code}x${d.count}`).join(',')}`),
    conntrack: [...conntrackDump(dp), ...dp.contexts.map((c) => JSON.stringify(c.conntrack.stats))],
    // Every eBPF map of every node (whole buffers: entries, LRU order, stats counters) and each node's IPVS.
    maps: mapDump(dp),
    ipIds: dp.contexts.map((c) => c.ipId),
    pool: hashArrays([pool.bytes, pool.start, pool.len, pool.wireLen, pool.node, pool.device, pool.ingress, pool.next, pool.drop, pool.verdict,
      pool.mark, pool.flags, pool.frameNo, pool.l3, pool.l4, pool.ct, pool.ctinfo, pool.aux0, pool.aux1, pool.aux2, pool.freeList, pool.freeTop]),
    results: rec.take().map((r) => `#${r.frame} v${r.verdict} d${r.drop} ${r.stage} n${r.node} hops ${r.hops.map((h) => `${h.node}:${h.device}/${h.dir}`).join(',')}`),
    native: rows.reduce((a, r) => a + r.nativePackets, 0),
    policyNative: rows.filter((r) => r.stage.startsWith('policy4')).reduce((a, r) => a + r.nativePackets, 0),
    ipvsNative: rows.filter((r) => r.stage === 'ipvs4-in').reduce((a, r) => a + r.nativePackets, 0),
    carried: dp.engine.runner?.call[4] ?? 0,
  };
}

describe('native dispatcher: the engine loop in C++ over the same arrays', () => {
  const cases = [
    { flows: 64, packets: 3000, newEvery: 0, vector: 256, batch: 512 },
    { flows: 50, packets: 2000, newEvery: 10, vector: 256, batch: 300 },
    { flows: 17, packets: 800, newEvery: 7, vector: 7, batch: 61 },
    { flows: 9, packets: 300, newEvery: 0, vector: 1, batch: 13 },
    // Batches of one vector: whole calls go straight on to the next stage (the carried vector).
    { flows: 64, packets: 2048, newEvery: 0, vector: 256, batch: 256 },
    { flows: 40, packets: 1500, newEvery: 9, vector: 100, batch: 100 },
    // kube-proxy ebpf mode: policy4 records established packets in ct4_global natively.
    { flows: 64, packets: 2048, newEvery: 0, vector: 256, batch: 256, kp: 'ebpf' as const },
    { flows: 50, packets: 2000, newEvery: 10, vector: 256, batch: 300, kp: 'ebpf' as const },
    { flows: 17, packets: 800, newEvery: 7, vector: 7, batch: 61, kp: 'ebpf' as const },
    // kube-proxy ipvs mode: ipvs4-in passes live connections natively.
    { flows: 64, packets: 2048, newEvery: 0, vector: 256, batch: 256, kp: 'ipvs' as const },
    { flows: 50, packets: 2000, newEvery: 10, vector: 256, batch: 300, kp: 'ipvs' as const },
    { flows: 17, packets: 800, newEvery: 7, vector: 7, batch: 61, kp: 'ipvs' as const },
    // Full conntrack tables: the hooks must not defer new flows past packets of entries an early drop may evict.
    { flows: 40, packets: 1500, newEvery: 4, vector: 256, batch: 256, ctMax: 90 },
    { flows: 30, packets: 900, newEvery: 3, vector: 64, batch: 100, ctMax: 70 },
  ];
  for (const c of cases) {
    for (const withFinal of [false, true]) {
      const kp = 'kp' in c ? c.kp : 'iptables';
      it(`${kp}: ${c.flows} flows, ${c.packets} packets, new flow every ${c.newEvery || 'never'}, vector ${c.vector}${'ctMax' in c ? `, nf_conntrack_max ${c.ctMax}` : ''}, ${withFinal ? 'final observer' : 'no observer'}`, () => {
        const ctMax = 'ctMax' in c ? c.ctMax : 0;
        const ts = run('ts', withFinal, c.flows, c.packets, c.newEvery, c.vector, c.batch, kp, ctMax);
        const perStage = run('per-stage', withFinal, c.flows, c.packets, c.newEvery, c.vector, c.batch, kp, ctMax);
        const dispatch = run('dispatch', withFinal, c.flows, c.packets, c.newEvery, c.vector, c.batch, kp, ctMax);
        for (const other of [perStage, dispatch]) {
          expect(other.counters).toEqual(ts.counters);
          expect(other.conntrack).toEqual(ts.conntrack);
          expect(other.maps).toEqual(ts.maps);
          expect(other.ipIds).toEqual(ts.ipIds);
          expect(other.results).toEqual(ts.results);
          expect(other.pool).toBe(ts.pool);
        }
        if (withFinal) expect(ts.results.length).toBeGreaterThan(c.packets);
        // The dispatcher took as many packets natively as the per-stage calls did.
        expect(dispatch.native).toBe(perStage.native);
        expect(dispatch.native).toBeGreaterThan(0);
        // Batches of one vector go from call to call without the queues.
        if (c.batch === c.vector) expect(dispatch.carried).toBeGreaterThan(0);
        // The policy hooks ran natively (in ebpf mode: recording established packets in ct4_global).
        expect(perStage.policyNative).toBeGreaterThan(0);
        expect(dispatch.policyNative).toBe(perStage.policyNative);
        expect(dispatch.ipvsNative).toBe(perStage.ipvsNative);
        if (kp === 'ipvs') expect(perStage.ipvsNative).toBeGreaterThan(0);
        // The small tables were full: new flows early-dropped entries.
        if ('ctMax' in c) expect(ts.conntrack.join('\n')).toMatch(/"early_drop":[1-9]/);
      });
    }
  }
});
