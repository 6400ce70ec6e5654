/**
 * The issue's whole-pipeline requirement in the suite: workloads (a) and (b) (src/bench/issue-workloads.ts) on both
 * engines, the C reference, and the targets (>= 8 Mpps on (a), >= 5x TypeScript, within 2x of C) met or not.
 * Rows `issue-<a|b>/whole` (wall time per capture batch, timing `batch`) and `issue-<a|b>/<stage>` (the engine's
 * counters summed over nodes, ns per node-packet, timing `counters`): both with the native dispatcher on for engine
 * native, since nothing here sets a trace or a per-call sampler.
 */
import type { EngineName } from '../native/loader.js';
import { batchQuantiles, cReference, issueCluster, issueWorkload, ISSUE_BATCH, ISSUE_FLOWS, measureWorkload, WORKLOADS, type WorkloadRun } from './issue-workloads.js';
import type { IssueTarget, IssueWorkloadResult, StageResult } from './types.js';

/** The issue's targets for the native engine on workload (a). */
export const TARGET_MPPS = 8;
export const TARGET_OVER_TS = 5;
export const TARGET_OVER_C = 2;

function implOf(native: number, packets: number): string {
  return native === 0 ? 'ts' : native === packets ? 'native' : 'native+ts';
}

/** Rows of one engine's run on one workload. */
export function workloadRows(id: string, name: string, model: string, r: WorkloadRun): StageResult[] {
  const suite = `issue-${id}`;
  const out: StageResult[] = [];
  let nodePackets = 0, nativePackets = 0;
  for (const [stage, a] of r.stages) {
    nodePackets += a.packets;
    nativePackets += a.native;
    const per = r.batches.flatMap((b) => {
      const d = b.stages.get(stage);
      return d && d.packets > 0 ? [d.ns / d.packets] : [];
    });
    const q = batchQuantiles(per);
    out.push({
      key: `${suite}/${stage}`, suite, stage: `${stage} (all nodes)`, engine: r.engine, impl: r.engine === 'native' ? implOf(a.native, a.packets) : 'ts', model,
      p50Ns: q.p50, p99Ns: q.p99, meanNs: a.ns / a.packets, packetsPerSec: (a.packets * 1e9) / a.ns, packetsPerCall: a.packets / a.calls,
      samples: per.length, timing: 'counters', ...(r.engine === 'native' ? { nativeShare: a.native / a.packets } : {}),
    });
  }
  const q = batchQuantiles(r.batches.map((b) => b.ns / b.packets));
  out.unshift({
    key: `${suite}/whole`, suite, stage: `whole pipeline, ${name}`, engine: r.engine, impl: r.engine === 'native' ? implOf(nativePackets, nodePackets) : 'ts', model,
    p50Ns: q.p50, p99Ns: q.p99, meanNs: r.ns / r.packets, packetsPerSec: (r.packets * 1e9) / r.ns, packetsPerCall: ISSUE_BATCH,
    samples: r.batches.length, timing: 'batch', ...(r.engine === 'native' ? { nativeShare: nodePackets > 0 ? nativePackets / nodePackets : 0 } : {}),
  });
  return out;
}

const stageNs = (r: WorkloadRun): number => {
  let ns = 0;
  for (const a of r.stages.values()) ns += a.ns;
  return ns / r.packets;
};

const share = (r: WorkloadRun): number => {
  let p = 0, n = 0;
  for (const a of r.stages.values()) {
    p += a.packets;
    n += a.native;
  }
  return p > 0 ? n / p : 0;
};

/** Both workloads, every engine, the C reference: rows, per-workload results and the targets. */
export function runIssueWorkloads(engines: readonly EngineName[], packets: number, warm: number, step: (label: string) => void): { stages: StageResult[]; workloads: IssueWorkloadResult[]; targets: IssueTarget[] } {
  const model = issueCluster().kubeProxy.mode;
  const stages: StageResult[] = [];
  const workloads: IssueWorkloadResult[] = [];
  for (const w of WORKLOADS) {
    const runs: WorkloadRun[] = [];
    for (const engine of engines) {
      step(`issue workload ${w.id} (${engine} engine): ${packets} packets, ${ISSUE_FLOWS} flows, batches of ${ISSUE_BATCH}`);
      const r = measureWorkload(engine, w.newFlows, packets, warm);
      runs.push(r);
      stages.push(...workloadRows(w.id, w.name, model, r));
    }
    step(`C reference (bench/c-reference/ref.c) on workload ${w.id}`);
    const c = cReference(issueWorkload(w.newFlows, Math.min(packets, 100_000), warm));
    const fig = runs.map((r) => ({ engine: r.engine, packetsPerSec: (r.packets * 1e9) / r.ns, nsPerPacket: r.ns / r.packets, nativeDispatch: r.nativeDispatch, nativeShare: share(r), stageNsPerPacket: stageNs(r), node1StageNsPerPacket: (r.nodeNs.get('node-1') ?? 0) / r.packets }));
    const ts = fig.find((f) => f.engine === 'ts');
    const nat = fig.find((f) => f.engine === 'native');
    workloads.push({
      id: w.id, name: w.name, packets, warmup: warm, flows: ISSUE_FLOWS, batch: ISSUE_BATCH, engines: fig,
      ...(ts && nat ? { nativeOverTs: nat.packetsPerSec / ts.packetsPerSec } : {}),
      ...('error' in c ? { cNote: `C reference not run: ${c.error}` } : { cReference: c }),
      ...(nat && !('error' in c) ? { nativeOverC: { node1: nat.nsPerPacket / c.node1Ns, full: nat.nsPerPacket / c.fullNs } } : {}),
    });
  }
  return { stages, workloads, targets: issueTargets(workloads) };
}

/** The issue's targets, computed from workload (a) (pure). */
export function issueTargets(workloads: readonly IssueWorkloadResult[]): IssueTarget[] {
  const a = workloads.find((w) => w.id === 'a');
  const nat = a?.engines.find((e) => e.engine === 'native');
  const none = 'native engine not measured in this run';
  const mpps = nat ? nat.packetsPerSec / 1e6 : NaN;
  const out: IssueTarget[] = [
    { target: `(a) native >= ${TARGET_MPPS} Mpps`, measured: nat ? `${mpps.toFixed(3)} Mpps` : none, met: nat !== undefined && mpps >= TARGET_MPPS },
    { target: `(a) native >= ${TARGET_OVER_TS}x TypeScript`, measured: a?.nativeOverTs !== undefined ? `${a.nativeOverTs.toFixed(2)}x` : none, met: a?.nativeOverTs !== undefined && a.nativeOverTs >= TARGET_OVER_TS },
  ];
  const c = a?.nativeOverC;
  const cWhy = !nat ? none : a?.cNote ?? 'C reference not run';
  out.push(
    { target: `(a) native within ${TARGET_OVER_C}x of C, whole path (ref.c full: the same work)`, measured: c ? `${c.full.toFixed(1)}x C's time (${nat!.nsPerPacket.toFixed(0)} vs ${a!.cReference!.fullNs.toFixed(1)} ns/packet)` : cWhy, met: c !== undefined && c.full <= TARGET_OVER_C },
    { target: `(a) native within ${TARGET_OVER_C}x of C, node-1's work only (ref.c default)`, measured: c ? `${c.node1.toFixed(1)}x C's time (${nat!.nsPerPacket.toFixed(0)} vs ${a!.cReference!.node1Ns.toFixed(1)} ns/packet; node-1's stage calls alone ${(nat!.node1StageNsPerPacket ?? NaN).toFixed(0)} ns, ${((nat!.node1StageNsPerPacket ?? NaN) / a!.cReference!.node1Ns).toFixed(1)}x)` : cWhy, met: c !== undefined && c.node1 <= TARGET_OVER_C },
  );
  return out;
}
