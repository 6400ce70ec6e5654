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
import { runPolicy } from './policy.js';
import { maglevBench, socketLb } from './ebpf-lb.js';
import { conntrackScaling, servicesScaling } from './scaling.js';
import { scalingRatio } from './stats.js';
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
    ? { services: 100, flows: 256, perFlow: 40, newConn: 4000, svcSizes: [10, 100, 1000], svcPackets: 2000, ctSizes: [1_000, 10_000, 100_000], ctMicro: 100_000, cpuSeconds: 0.5, kernelSeconds: 2, policySizes: [10, 100, 1000, 10_000], policyPipeline: [10_000], policySeconds: 0.3, policyPackets: 2000, sockConns: 8000, maglevRuns: 3, maglevLookups: 100_000 }
    : { services: 1000, flows: 1024, perFlow: 200, newConn: 16000, svcSizes: [10, 100, 1000, 10_000], svcPackets: 4000, ctSizes: [1_000, 10_000, 100_000, 1_000_000], ctMicro: 1_000_000, cpuSeconds: 2, kernelSeconds: 5, policySizes: [10, 100, 1000, 10_000, 100_000], policyPipeline: [1000, 10_000], policySeconds: 1, policyPackets: 8000, sockConns: 24000, maglevRuns: 9, maglevLookups: 1_000_000 };
}

/** What the issue asks for that this suite does not measure yet, and why (reported, never stubbed). */
export const GAPS: readonly string[] = [
  'IPVS model: not run. An ipvs4-in stage entered the graph while this suite was written (its pass-through cost shows up as pipeline/ipvs4-in rows); the suite builds iptables- and ebpf-mode clusters only, so the same flows in ipvs mode (and bench/services.ts figures in the suite) are the next step',
  'policy4 stages at 100,000 rules through a Dataplane: the Dataplane builds its PolicyEngine with Cilium\'s default bpf-policy-map-max (16,384), so the eBPF model refuses a 100,000-entry endpoint map (POLICY_MAP_OVERFLOW, as Cilium does; its maximum is 65,536) and would enforce nothing; decide() at 100,000 uses a map sized to fit instead',
  'native engine: not built (native/README.md); every figure is the TypeScript engine',
];

export async function runSuite(o: SuiteOptions, progress: Progress): Promise<BenchReport> {
  const p = plan(o.quick);
  const steps = 11 + p.svcSizes.length + p.ctSizes.length + 3 * p.policySizes.length + 2 * p.policyPipeline.length;
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

  step(`pipeline (kube-proxy ebpf): ${p.flows} established flows x ${p.perFlow}, ${p.services} Services`);
  stages.push(...runEstablished({ services: p.services, flows: p.flows, perFlow: p.perFlow }, 'ebpf'));

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

  const pol = runPolicy(p.policySizes, p.policyPipeline, p.policySeconds, p.policyPackets, (l) => step(l));
  stages.push(...pol.stages);
  const polSeries = (mode: 'ebpf' | 'iptables') => {
    const points = pol.points.filter((x) => x.mode === mode).map((x) => ({ n: x.n, ns: x.p50 }));
    return { name: `policy verdict, ${mode} model (new flow)`, param: 'rules', metric: 'decide() p50 ns/flow, ingress of the target pod', points, ...scalingRatio(points) };
  };
  const policyModels = p.policySizes.map((n) => {
    const e = pol.points.find((x) => x.n === n && x.mode === 'ebpf')!;
    const i = pol.points.find((x) => x.n === n && x.mode === 'iptables')!;
    return { n, ebpfNs: e.p50, iptablesNs: i.p50, ratio: i.p50 / e.p50 };
  });

  step('socket LB: connect() new and reused, random and Maglev');
  stages.push(...socketLb(100, p.sockConns, 'random'), ...socketLb(100, p.sockConns, 'maglev'));
  step('Maglev: table build and lookup at M = 16381, 65521');
  const mg = maglevBench([16381, 65521], 100, p.maglevRuns, p.maglevLookups);
  stages.push(...mg.stages);

  step(`CPU at 100K packets/s for ${p.cpuSeconds} s (iptables)`);
  const cpu = cpuAtRate('iptables', p.services, 100_000, p.cpuSeconds);
  step(`CPU at 100K packets/s for ${p.cpuSeconds} s (ebpf)`);
  const cpuEbpf = cpuAtRate('ebpf', p.services, 100_000, p.cpuSeconds);

  step(o.kernel ? 'kernel peer' : 'kernel peer (skipped)');
  const kernelPeer = o.kernel ? runKernelPeer(p.kernelSeconds) : { ran: false, note: 'skipped (--no-kernel)', rows: [] };
  progress(steps, steps, 'done');

  const c = cpus();
  return {
    tool: REPORT_TOOL, suiteVersion: SUITE_VERSION, mode: (o.quick ? 'quick' : 'default') satisfies BenchMode, engine: ENGINE,
    date: new Date().toISOString(), node: process.version, cpu: c[0]?.model ?? 'unknown', cores: c.length,
    calibrationNs, peakRssBytes: process.resourceUsage().maxRSS * 1024,
    stages, scaling: [svc.result, ct, polSeries('ebpf'), polSeries('iptables')], cpuAtRate: [cpu, cpuEbpf], policyModels, maglevBuilds: mg.builds, kernelPeer, benny: bennySuites, gaps,
    data: [
      `established flows: ${p.flows} TCP flows pod-a (10.244.1.5, node-1) -> Service VIPs (Prng seed 23), ${p.perFlow} ACK|PSH segments of 64 B each, round-robin; first ${p.flows * 3} packets are warm-up`,
      `synthetic cluster: 3 nodes, ${p.services} ClusterIP Services with 2 endpoints each (backend pods on node-2/node-3), kube-proxy iptables, VXLAN`,
      `new connections: SYNs to random Services (Prng seed 11), first quarter warm-up`,
      `policy: one NetworkPolicy selecting the target pod (node-2) with N ingress rules, rule i allowing peer pod i mod P (P = min(N, 100), distinct labels, on node-1) on TCP port 1024 + floor(i / P): N distinct (peer, port) pairs, so the iptables chain has N rules and the eBPF map N entries; decide() for seeded random (peer, port) pairs that each match one allow rule (the chain walk stops there: half the chain on average); policy4-ingress rows: SYNs from the peer pods, all new flows`,
      `socket LB: EbpfNodeState.connect() from pod-a to random Services (100 Services, 2 backends each, Prng seed 41), ${p.sockConns} new sockets then the same sockets again; Maglev: 100 backends, seeded tuples (Prng seed 5)`,
      `CPU at a fixed rate: the same ${p.services}-Service cluster and flows in kube-proxy mode iptables and ebpf (socket LB + eBPF maps; no NetworkPolicy in this cluster)`,
      'micro: 4096 seeded Eth/IPv4/TCP frames (Prng seed 12345); conntrack filled with deterministic tuples',
    ],
  };
}
