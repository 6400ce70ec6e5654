/**
 * Per-stage figures from the engine's own timing, on realistic traffic: established TCP flows from pod-a
 * (node-1) to Service VIPs, DNATed by kube-proxy's iptables rules to backend pods on node-2/node-3, so
 * every packet crosses veth, conntrack, routing, VXLAN encap, the underlay, and decap on the far node.
 * The engine's onCall hook gives one ns/packet sample per `process` call (one vector), hence p50/p99
 * across vectors. Warm-up (the flows' first segments, which create the conntrack entries, and JIT warm-up)
 * is run and then discarded before anything is measured.
 */
import { Dataplane } from '../dataplane/dataplane.js';
import { Samples, quantile } from './stats.js';
import { flowFrames, synFrames, syntheticCluster } from './synthetic.js';
import type { StageResult } from './types.js';

export const ENGINE = 'ts';
const VECTOR = 256;

/** Stages whose figure is held against a course budget (stage@node -> budget id). */
const STAGE_BUDGETS: Readonly<Record<string, string>> = {
  'sock4-connect@node-1': 'socket-lb',
  'vxlan4-encap@node-1': 'vxlan',
  'vxlan4-decap@node-2': 'vxlan',
};

export interface PipelineOptions {
  readonly services: number;
  readonly flows: number;
  readonly perFlow: number;
}

export interface Acc {
  readonly samples: Samples;
  calls: number;
  packets: number;
  ns: number;
}

function inject(dp: Dataplane, frames: readonly Uint8Array[], from: number, to: number, device: number, onVector?: (ns: number, n: number) => void): void {
  const pool = dp.pool;
  for (let i = from; i < to; i += VECTOR) {
    const end = Math.min(to, i + VECTOR);
    for (let k = i; k < end; k++) {
      const f = frames[k];
      const s = pool.load(f, 0, f.length, f.length, 1000 + k / 1e5, 0);
      pool.frameNo[s] = k + 1;
      dp.inject(s, device);
    }
    const t0 = process.hrtime.bigint();
    dp.run();
    const ns = Number(process.hrtime.bigint() - t0);
    onVector?.(ns, end - i);
  }
}

export function rowsFrom(suite: string, model: string, accs: Map<string, Acc>, keep: (key: string) => boolean, budgets: Readonly<Record<string, string>>): StageResult[] {
  const out: StageResult[] = [];
  for (const [key, a] of accs) {
    if (!keep(key) || a.packets === 0) continue;
    const v = a.samples.values();
    const [stage] = key.split('@');
    out.push({
      key: `${suite}/${key}`, suite, stage: key, engine: ENGINE, model,
      p50Ns: quantile(v, 0.5), p99Ns: quantile(v, 0.99), meanNs: a.ns / a.packets,
      packetsPerSec: (a.packets * 1e9) / a.ns, packetsPerCall: a.packets / a.calls, samples: a.samples.length,
      budget: budgets[key] ?? budgets[stage],
    });
  }
  return out;
}

export function sampler(accs: Map<string, Acc>): (rt: { stage: string; nodeName: string }, n: number, ns: number) => void {
  return (rt, n, ns) => {
    const key = `${rt.stage}@${rt.nodeName}`;
    let a = accs.get(key);
    if (!a) accs.set(key, (a = { samples: new Samples(), calls: 0, packets: 0, ns: 0 }));
    a.samples.push(ns / n);
    a.calls++;
    a.packets += n;
    a.ns += ns;
  };
}

/** Established flows through the whole path: one row per stage on node-1 and node-2, plus the whole pipeline. */
export function runEstablished(o: PipelineOptions, model: 'iptables' | 'ebpf' = 'iptables'): StageResult[] {
  const dp = new Dataplane(syntheticCluster(o.services, model, true), { poolSize: 8192, vectorSize: VECTOR });
  const pod = dp.findDevice('default/pod-a');
  if (!pod) throw new Error('synthetic cluster has no default/pod-a');
  const frames = flowFrames(o.flows, o.perFlow, o.services);
  const warm = Math.min(frames.length, o.flows * 3);
  inject(dp, frames, 0, warm, pod.id);
  const accs = new Map<string, Acc>();
  dp.engine.onCall = sampler(accs);
  const whole = new Samples();
  let wholeNs = 0;
  inject(dp, frames, warm, frames.length, pod.id, (ns, n) => {
    whole.push(ns / n);
    wholeNs += ns;
  });
  dp.engine.onCall = null;
  const measured = frames.length - warm;
  const suite = model === 'iptables' ? 'pipeline' : `pipeline-${model}`;
  const out = rowsFrom(suite, model, accs, (k) => k.endsWith('@node-1') || k.endsWith('@node-2'), STAGE_BUDGETS);
  const v = whole.values();
  out.push({
    key: `${suite}/whole`, suite, stage: 'whole pipeline (node-1 -> VXLAN -> node-2/3)', engine: ENGINE, model,
    p50Ns: quantile(v, 0.5), p99Ns: quantile(v, 0.99), meanNs: wholeNs / measured, packetsPerSec: (measured * 1e9) / wholeNs,
    packetsPerCall: VECTOR, samples: whole.length,
  });
  return out;
}

/**
 * New connections: every packet a SYN of a new flow, so nf4-prerouting on node-1 is the conntrack insert
 * plus the nat PREROUTING walk (KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP): the iptables service chain.
 */
export function runNewConnections(services: number, packets: number): StageResult[] {
  const dp = new Dataplane(syntheticCluster(services, 'iptables', true), { poolSize: 8192, vectorSize: VECTOR });
  const pod = dp.findDevice('default/pod-a');
  if (!pod) throw new Error('synthetic cluster has no default/pod-a');
  const frames = synFrames(packets, services);
  const warm = Math.floor(packets / 4);
  inject(dp, frames, 0, warm, pod.id);
  const accs = new Map<string, Acc>();
  dp.engine.onCall = sampler(accs);
  inject(dp, frames, warm, packets, pod.id);
  dp.engine.onCall = null;
  return rowsFrom(`new-conn-${services}svc`, 'iptables', accs, (k) => k === 'nf4-prerouting@node-1', { 'nf4-prerouting@node-1': 'service-lb' });
}

/** p50/p99 of nf4-prerouting on node-1 for SYNs to `services` Services (for the scaling series). */
export function serviceChainNs(services: number, packets: number): { p50: number; p99: number; mean: number } {
  const r = runNewConnections(services, packets)[0];
  return { p50: r.p50Ns, p99: r.p99Ns, mean: r.meanNs };
}
