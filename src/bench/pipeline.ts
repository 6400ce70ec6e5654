/**
 * Per-stage figures from the engine's own timing, on realistic traffic: established TCP flows from pod-a
 * (node-1) to Service VIPs, DNATed by kube-proxy's iptables rules to backend pods on node-2/node-3, so
 * every packet crosses veth, conntrack, routing, VXLAN encap, the underlay, and decap on the far node.
 * Frames are queued as capture batches (`Dataplane.injectFrames`: one buffer + offsets, queued natively by
 * the native engine). Two kinds of figures, kept apart in column `timing`:
 * - per-stage p50/p99 (`sampler`): the engine's onCall hook gives one ns/packet sample per `process` call
 *   (one vector), hence p50/p99 across vectors. The hook runs in the JavaScript loop, so it turns the native
 *   dispatcher OFF: a native Dataplane's native stages are then called per vector through N-API (their
 *   wrappers), as before the dispatcher existed. Honest per call, not what the native engine does end to end.
 * - whole pipeline (`batch`): the other half of the measured frames, with no hook, so the native engine runs its
 *   dispatcher (engine.runner); each capture batch (queue + run to empty) timed alone, p50/p99 across batches.
 * Warm-up (the flows' first segments, which create the conntrack entries, and JIT warm-up)
 * is run and then discarded before anything is measured.
 */
import { Dataplane } from '../dataplane/dataplane.js';
import { loadNative, type EngineName } from '../native/loader.js';
import { NATIVE_STAGES } from '../native/stages.js';
import { inMemory } from './issue-workloads.js';
import { Samples, quantile } from './stats.js';
import { flowFrames, synFrames, syntheticCluster } from './synthetic.js';
import type { StageResult } from './types.js';
import type { FrameArrays } from '../native/engine-runner.js';

/** Engine of rows measured on TypeScript code only (micro suites, policy decide(), socket LB, Maglev, scaling). */
export const ENGINE: EngineName = 'ts';

export type KubeProxyModel = 'iptables' | 'ipvs' | 'ebpf';

/**
 * The engines this process can run: ts always, native when the addon loads (public loader API only).
 * `note` says why native is absent, for the report's gap list.
 */
export function availableEngines(): { engines: EngineName[]; note?: string } {
  const l = loadNative();
  return l.ok ? { engines: ['ts', 'native'] } : { engines: ['ts'], note: l.reason };
}

/** Which code ran a stage in a Dataplane of `engine`: the native engine replaces only NATIVE_STAGES. */
export function stageImpl(engine: EngineName, stage: string): EngineName {
  return engine === 'native' && NATIVE_STAGES.includes(stage) ? 'native' : 'ts';
}
const VECTOR = 256;

/** Stages whose figure is held against a course budget (stage@node -> budget id). */
const STAGE_BUDGETS: Readonly<Record<string, string>> = {
  'vxlan4-encap@node-1': 'vxlan',
  'vxlan4-decap@node-2': 'vxlan',
};
/** sock4-connect does socket LB only in ebpf mode (elsewhere it passes packets through): only there is it held to that budget. */
const EBPF_BUDGETS: Readonly<Record<string, string>> = { ...STAGE_BUDGETS, 'sock4-connect@node-1': 'socket-lb' };

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

/** Frames of a whole run as one capture in memory (times 1000 + k / 1e5 s, as the frames' index k). */
function arrays(frames: readonly Uint8Array[]): FrameArrays {
  return inMemory(frames, (k) => 1000 + k / 1e5, () => 0);
}

/** Queues frames from..to in batches of `batch` (injectFrames, natively with the native dispatcher) and runs each to empty. */
function inject(dp: Dataplane, fa: FrameArrays, from: number, to: number, device: number, batch: number, onBatch?: (ns: number, n: number) => void): void {
  for (let i = from; i < to; i += batch) {
    const end = Math.min(to, i + batch);
    const t0 = process.hrtime.bigint();
    dp.injectFrames(fa, i, end - i, i + 1, device);
    dp.run();
    const ns = Number(process.hrtime.bigint() - t0);
    onBatch?.(ns, end - i);
  }
}

/** Frames per timed batch of the whole-pipeline rows (a capture batch: queued, then run to empty). */
export const WHOLE_BATCH = 1024;

/** What ran each stage@node in a Dataplane, from its counters: ts, native, or native+ts (packets handed back). */
function implOf(dp: Dataplane): Map<string, string> {
  return new Map(dp.engine.runtimeRows().map((r) => [`${r.stage}@${r.node}`, r.engine]));
}

export function rowsFrom(suite: string, model: string, accs: Map<string, Acc>, keep: (key: string) => boolean, budgets: Readonly<Record<string, string>>, engine: EngineName = ENGINE, impl?: ReadonlyMap<string, string>): StageResult[] {
  const out: StageResult[] = [];
  for (const [key, a] of accs) {
    if (!keep(key) || a.packets === 0) continue;
    const v = a.samples.values();
    const [stage] = key.split('@');
    out.push({
      key: `${suite}/${key}`, suite, stage: key, engine, impl: impl?.get(key) ?? stageImpl(engine, stage), model, timing: 'sampler',
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

/**
 * Established flows through the whole path: one row per stage on node-1 and node-2 (per-call sampler, first half of
 * the measured frames), plus the whole pipeline (second half, no sampler: the native dispatcher on for engine native).
 */
export function runEstablished(o: PipelineOptions, model: KubeProxyModel = 'iptables', engine: EngineName = ENGINE): StageResult[] {
  const dp = new Dataplane(syntheticCluster(o.services, model, true), { poolSize: 8192, vectorSize: VECTOR, engine });
  const pod = dp.findDevice('default/pod-a');
  if (!pod) throw new Error('synthetic cluster has no default/pod-a');
  const frames = flowFrames(o.flows, o.perFlow, o.services);
  const fa = arrays(frames);
  const warm = Math.min(frames.length, o.flows * 3);
  const half = warm + Math.floor((frames.length - warm) / 2);
  inject(dp, fa, 0, warm, pod.id, VECTOR);
  const accs = new Map<string, Acc>();
  dp.engine.onCall = sampler(accs);
  inject(dp, fa, warm, half, pod.id, VECTOR);
  dp.engine.onCall = null;
  const impl = implOf(dp);
  const whole = new Samples();
  let wholeNs = 0;
  const dispatcher = dp.engine.runner !== null;
  inject(dp, fa, half, frames.length, pod.id, WHOLE_BATCH, (ns, n) => {
    whole.push(ns / n);
    wholeNs += ns;
  });
  const measured = frames.length - half;
  const suite = model === 'iptables' ? 'pipeline' : `pipeline-${model}`;
  const out = rowsFrom(suite, model, accs, (k) => k.endsWith('@node-1') || k.endsWith('@node-2'), model === 'ebpf' ? EBPF_BUDGETS : STAGE_BUDGETS, engine, impl);
  const v = whole.values();
  out.push({
    key: `${suite}/whole`, suite, stage: `whole pipeline (node-1 -> VXLAN -> node-2/3)${engine === 'native' ? (dispatcher ? ', native dispatcher' : ', JavaScript loop (dispatcher off)') : ''}`, engine, impl: engine, model,
    p50Ns: quantile(v, 0.5), p99Ns: quantile(v, 0.99), meanNs: wholeNs / measured, packetsPerSec: (measured * 1e9) / wholeNs,
    packetsPerCall: WHOLE_BATCH, samples: whole.length, timing: 'batch',
  });
  return out;
}

/** Per-connection service translation stages on the client's node (iptables: nat walk in nf4-prerouting; IPVS: ipvs4-in). */
const SERVICE_STAGES = ['ipvs4-in@node-1', 'nf4-prerouting@node-1'];

/** Suite name of the new-connection rows (the iptables name predates IPVS and is kept). */
export function newConnSuite(model: 'iptables' | 'ipvs', services: number): string {
  return model === 'iptables' ? `new-conn-${services}svc` : `new-conn-${model}-${services}svc`;
}

/**
 * New connections: every packet a SYN of a new flow. On node-1, iptables mode: nf4-prerouting is the
 * conntrack insert plus the nat PREROUTING walk (KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP); IPVS mode:
 * ipvs4-in looks the VIP up (hash) and schedules, nf4-prerouting creates the entry. Both rows per model.
 */
export function runNewConnections(services: number, packets: number, model: 'iptables' | 'ipvs' = 'iptables', engine: EngineName = ENGINE): StageResult[] {
  const dp = new Dataplane(syntheticCluster(services, model, true), { poolSize: 8192, vectorSize: VECTOR, engine });
  const pod = dp.findDevice('default/pod-a');
  if (!pod) throw new Error('synthetic cluster has no default/pod-a');
  const frames = synFrames(packets, services);
  const fa = arrays(frames);
  const warm = Math.floor(packets / 4);
  inject(dp, fa, 0, warm, pod.id, VECTOR);
  const accs = new Map<string, Acc>();
  dp.engine.onCall = sampler(accs);
  inject(dp, fa, warm, packets, pod.id, VECTOR);
  dp.engine.onCall = null;
  const rows = rowsFrom(newConnSuite(model, services), model, accs, (k) => SERVICE_STAGES.includes(k), { 'nf4-prerouting@node-1': 'service-lb', 'ipvs4-in@node-1': 'service-lb' }, engine, implOf(dp));
  if (rows.length !== SERVICE_STAGES.length) throw new Error(`new-connection bench (${model}, ${services} Services): expected rows for ${SERVICE_STAGES.join(', ')}, got ${rows.map((r) => r.stage).join(', ')}`);
  return rows;
}

/**
 * Service translation per new connection on node-1: ipvs4-in + nf4-prerouting (sum of the two stages' p50,
 * and of their p99 as an upper bound), so iptables and IPVS are held to the same stages, as bench/services.ts does.
 */
export function serviceChainNs(services: number, packets: number, model: 'iptables' | 'ipvs' = 'iptables'): { p50: number; p99: number; mean: number; rows: StageResult[] } {
  const rows = runNewConnections(services, packets, model);
  const sum = (f: (r: StageResult) => number): number => rows.reduce((a, r) => a + f(r), 0);
  return { p50: sum((r) => r.p50Ns), p99: sum((r) => r.p99Ns), mean: sum((r) => r.meanNs), rows };
}
