/**
 * The default suite shared by `npm run bench` and `dpemu bench`: calibration, per-stage pipeline figures,
 * benny micro suites, scaling series, CPU at a fixed rate and the kernel peer, into one BenchReport.
 * Progress goes through a callback (the CLI draws a bar, the npm script prints lines).
 */
import { cpus } from 'node:os';
import { calibrate } from './calibrate.js';
import { cpuAtRate } from './cpu-rate.js';
import { runKernelPeer } from './kernel.js';
import { loadBenny, runMicro } from './micro.js';
import { ENGINE, runEstablished, runNewConnections } from './pipeline.js';
import { conntrackScaling, servicesScaling } from './scaling.js';
import { REPORT_TOOL, SUITE_VERSION, type BenchMode, type BenchReport, type StageResult } from './types.js';

export interface SuiteOptions {
  readonly quick: boolean;
  /** Run the kernel peer (only effective as root). */
  readonly kernel: boolean;
}

export type Progress = (done: number, total: number, label: string) => void;

/** Sizes per mode: the default finishes in a few minutes on 2 cores, quick in well under one. */
export function plan(quick: boolean) {
  return quick
    ? { services: 100, flows: 256, perFlow: 40, newConn: 4000, svcSizes: [10, 100, 1000], svcPackets: 2000, ctSizes: [1_000, 10_000, 100_000], ctMicro: 100_000, cpuSeconds: 0.5, kernelSeconds: 2 }
    : { services: 1000, flows: 1024, perFlow: 200, newConn: 16000, svcSizes: [10, 100, 1000, 10_000], svcPackets: 4000, ctSizes: [1_000, 10_000, 100_000, 1_000_000], ctMicro: 1_000_000, cpuSeconds: 2, kernelSeconds: 5 };
}

/** What the issue asks for that this suite does not measure yet, and why (reported, never stubbed). */
export const GAPS: readonly string[] = [
  'IPVS model: not run. An ipvs4-in stage entered the graph while this suite was written (its pass-through cost in iptables mode shows up as pipeline/ipvs4-in rows); the suite builds iptables-mode clusters only, so the same flows in ipvs mode are the next step',
  'policy checks (both models: iptables NetworkPolicy chains and Cilium-style identity maps) and the policy-rule scaling run (10 -> 100,000 rules): no policy evaluator exported (src/policy has compile/IR only)',
  'eBPF socket LB and Maglev table build/lookup: src/lb is empty; kube-proxy mode ebpf is not wired into the dataplane, so CPU at 100K packets/s is iptables mode only',
  'native engine: not built (native/README.md); every figure is the TypeScript engine',
];

export async function runSuite(o: SuiteOptions, progress: Progress): Promise<BenchReport> {
  const p = plan(o.quick);
  const steps = 6 + p.svcSizes.length + p.ctSizes.length;
  let done = 0;
  const step = (label: string): void => progress(done++, steps, label);
  const stages: StageResult[] = [];
  const gaps = [...GAPS];

  step('calibration loop');
  const calibrationNs = calibrate();

  step(`pipeline: ${p.flows} established flows x ${p.perFlow}, ${p.services} Services`);
  stages.push(...runEstablished({ services: p.services, flows: p.flows, perFlow: p.perFlow }));
  step(`pipeline: ${p.newConn} new connections, ${p.services} Services`);
  stages.push(...runNewConnections(p.services, p.newConn));

  step('benny micro suites: parse, conntrack');
  const benny = await loadBenny();
  let bennySuites: BenchReport['benny'] = [];
  if (benny) {
    const m = await runMicro({ quick: o.quick, ctEntries: p.ctMicro }, benny);
    stages.push(...m.stages);
    bennySuites = m.benny;
  } else {
    gaps.push('micro suites (parse, conntrack ops): benny is not installed (it is a dev dependency; run from the repository)');
  }

  const svc = servicesScaling(p.svcSizes, p.svcPackets, (l) => step(`scaling: ${l}`));
  stages.push({
    key: `scaling/iptables-service-chain@${svc.largest.n}`, suite: 'scaling', stage: `iptables service chain, ${svc.largest.n} Services`, engine: ENGINE, model: 'iptables',
    p50Ns: svc.largest.p50, p99Ns: svc.largest.p99, meanNs: svc.largest.mean, packetsPerSec: 1e9 / svc.largest.mean, packetsPerCall: 256, samples: 0,
    budget: svc.largest.n >= 10_000 ? 'iptables-10k' : 'service-lb',
  });
  const ct = conntrackScaling(p.ctSizes, (l) => step(`scaling: ${l}`));

  step(`CPU at 100K packets/s for ${p.cpuSeconds} s (iptables)`);
  const cpu = cpuAtRate('iptables', p.services, 100_000, p.cpuSeconds);

  step(o.kernel ? 'kernel peer' : 'kernel peer (skipped)');
  const kernelPeer = o.kernel ? runKernelPeer(p.kernelSeconds) : { ran: false, note: 'skipped (--no-kernel)', rows: [] };
  progress(steps, steps, 'done');

  const c = cpus();
  return {
    tool: REPORT_TOOL, suiteVersion: SUITE_VERSION, mode: (o.quick ? 'quick' : 'default') satisfies BenchMode, engine: ENGINE,
    date: new Date().toISOString(), node: process.version, cpu: c[0]?.model ?? 'unknown', cores: c.length,
    calibrationNs, peakRssBytes: process.resourceUsage().maxRSS * 1024,
    stages, scaling: [svc.result, ct], cpuAtRate: [cpu], kernelPeer, benny: bennySuites, gaps,
    data: [
      `established flows: ${p.flows} TCP flows pod-a (10.244.1.5, node-1) -> Service VIPs (Prng seed 23), ${p.perFlow} ACK|PSH segments of 64 B each, round-robin; first ${p.flows * 3} packets are warm-up`,
      `synthetic cluster: 3 nodes, ${p.services} ClusterIP Services with 2 endpoints each (backend pods on node-2/node-3), kube-proxy iptables, VXLAN`,
      `new connections: SYNs to random Services (Prng seed 11), first quarter warm-up`,
      'micro: 4096 seeded Eth/IPv4/TCP frames (Prng seed 12345); conntrack filled with deterministic tuples',
    ],
  };
}
