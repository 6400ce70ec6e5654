/**
 * The machine-readable result of one suite run (`npm run bench -- --json out.json`), also the baseline
 * format `--compare` reads. Bump SUITE_VERSION whenever a row's meaning or the traffic changes:
 * a baseline of another version is refused, not compared.
 */
export const SUITE_VERSION = 3;

/** Why baselines of older versions are refused (shown in the incompatible-baseline message). */
export const SUITE_CHANGES: Readonly<Record<number, string>> = {
  3: 'v3 measures the whole-pipeline rows (pipeline*/whole) with the native dispatcher on (no per-call sampler; frames queued as capture batches with injectFrames, p50/p99 across batches of 1,024), takes the per-stage sampler rows on the first half of the measured frames only, and adds the issue workloads (issue-a/*, issue-b/*: per engine, whole pipeline and per-stage counters)',
  2: 'v2 made the engine part of every row\'s identity (pipeline rows per engine: ts, and native when the addon loads), added IPVS rows (pipeline-ipvs/*, new-conn-ipvs-*) and the veth/route coverage, and the service-chain scaling figure is now ipvs4-in + nf4-prerouting',
};
export const REPORT_TOOL = 'dpemu-bench';

export type BenchMode = 'default' | 'quick';

/** One stage (or micro operation) figure, in ns per packet (or per operation). */
export interface StageResult {
  /** Stable key used by --compare: `<suite>/<stage>[@node]`. */
  readonly key: string;
  readonly suite: string;
  readonly stage: string;
  /** Engine of the Dataplane (or code) that ran it: 'ts' or 'native'. Part of the row's identity with `key`. */
  readonly engine: string;
  /** Code that ran this stage inside that engine: the native engine replaces only its NATIVE_STAGES (absent in v1 reports). */
  readonly impl?: string;
  /** kube-proxy model ('iptables', 'ipvs', 'ebpf') or '-' when the stage does not depend on one. */
  readonly model: string;
  readonly p50Ns: number;
  readonly p99Ns: number;
  readonly meanNs: number;
  readonly packetsPerSec: number;
  /** Packets per `process` call (vector size actually seen); 1 for micro operations. */
  readonly packetsPerCall: number;
  /** Number of samples behind p50/p99 (vectors, or benny samples). */
  readonly samples: number;
  /** Budget id from budgets.ts this row is held against, if any. */
  readonly budget?: string;
  /**
   * How the figure was taken (absent: benny or a direct timing loop): `sampler` = Engine.onCall, one sample per
   * `process` call, JavaScript run loop (the native dispatcher is OFF while it is set); `batch` = wall time per
   * capture batch (queue + run to empty), native dispatcher on for engine native; `counters` = the engine's
   * per-stage counters (each call timed by the loop that made it, the native dispatcher's in C++), per batch.
   */
  readonly timing?: 'sampler' | 'batch' | 'counters';
  /** Share of the row's packets the native code took (counters' nativePackets / packets), engine native. */
  readonly nativeShare?: number;
}

export interface ScalingPoint {
  readonly n: number;
  readonly ns: number;
}

export interface ScalingResult {
  readonly name: string;
  /** What n counts (e.g. 'Services'). */
  readonly param: string;
  /** What ns measures. */
  readonly metric: string;
  readonly points: readonly ScalingPoint[];
  /** ns(largest n) / ns(smallest n), beside n(largest) / n(smallest): O(n) gives about the same ratio, O(1) about 1. */
  readonly ratio: number;
  readonly nRatio: number;
}

export interface CpuAtRate {
  readonly model: string;
  readonly ratePps: number;
  readonly packets: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** CPU seconds the emulator spends per 100,000 packets. */
  readonly cpuSecondsPer100k: number;
  /** Share of one core at the rate (cpuSeconds / wallSeconds). */
  readonly cpuPercent: number;
  /** Packets actually pushed / packets intended (< 1 when the emulator cannot keep the rate). */
  readonly achieved: number;
}

export interface KernelPeerResult {
  readonly ran: boolean;
  /** Why it did not run, or what it measured. */
  readonly note: string;
  readonly rows: readonly { readonly name: string; readonly pps: number; readonly nsPerPacket: number }[];
}

export interface BennyCase {
  readonly name: string;
  readonly ops: number;
  readonly margin: number;
  readonly samples: number;
}

export interface BennySuite {
  readonly name: string;
  readonly results: readonly BennyCase[];
}

export interface BenchReport {
  readonly tool: typeof REPORT_TOOL;
  readonly suiteVersion: number;
  readonly mode: BenchMode;
  /** The engine set joined with '+' (e.g. 'ts+native'). */
  readonly engine: string;
  /** Engines this run measured; a baseline must have the same set. */
  readonly engines: readonly string[];
  readonly date: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  /** ns per iteration of the calibration loop, measured in this run: the unit --compare divides by. */
  readonly calibrationNs: number;
  /** The calibration loop at the start and at the end of the run; calibrationNs is the lower (absent in older reports). */
  readonly calibrationRunsNs?: readonly number[];
  readonly peakRssBytes: number;
  readonly stages: readonly StageResult[];
  readonly scaling: readonly ScalingResult[];
  readonly cpuAtRate: readonly CpuAtRate[];
  readonly kernelPeer: KernelPeerResult;
  /** benny's own summaries of the micro suites (ops/s per case). */
  readonly benny: readonly BennySuite[];
  /** What the issue asks for that this run could not measure, and why. */
  readonly gaps: readonly string[];
  /** Policy verdict p50 per new flow in both models by rule count, and iptables / eBPF (absent in older reports). */
  readonly policyModels?: readonly { readonly n: number; readonly ebpfNs: number; readonly iptablesNs: number; readonly ratio: number }[];
  /** Maglev table build time (median ms) per table size M (absent in older reports). */
  readonly maglevBuilds?: readonly { readonly m: number; readonly backends: number; readonly ms: number; readonly runs: number }[];
  /** Service translation per new connection, iptables beside IPVS by Service count (ipvs4-in + nf4-prerouting p50). */
  readonly serviceModels?: readonly { readonly n: number; readonly iptablesNs: number; readonly ipvsNs: number; readonly ratio: number }[];
  /** The issue's workloads (a) and (b): whole-pipeline packets/s per engine, ratios, the C reference (absent before v3). */
  readonly issueWorkloads?: readonly IssueWorkloadResult[];
  /** The issue's targets, met or not in this run (absent before v3). */
  readonly issueTargets?: readonly IssueTarget[];
  /** How the data was generated (seeds, sizes). */
  readonly data: readonly string[];
}

/** One engine on one issue workload. */
export interface IssueEngineFigure {
  readonly engine: string;
  readonly packetsPerSec: number;
  /** Wall ns per packet (1e9 / packetsPerSec). */
  readonly nsPerPacket: number;
  /** Whether the engine's run loop was the native dispatcher (C++) for the timed batches. */
  readonly nativeDispatch: boolean;
  /** Share of stage calls' packets (node-packets) the native code took. */
  readonly nativeShare: number;
  /** ns per packet spent inside stage calls (the counters' ns over all stages and nodes); the rest of nsPerPacket is dispatch, queueing and JavaScript. */
  readonly stageNsPerPacket?: number;
  /** Ns per packet inside node-1's stage calls: the part of the path the C reference's node-1 mode does. */
  readonly node1StageNsPerPacket?: number;
}

export interface IssueWorkloadResult {
  readonly id: string;
  readonly name: string;
  readonly packets: number;
  readonly warmup: number;
  readonly flows: number;
  /** Frames per capture batch (injectFrames + run). */
  readonly batch: number;
  readonly engines: readonly IssueEngineFigure[];
  /** native packets/s / TypeScript packets/s (absent without the native engine). */
  readonly nativeOverTs?: number;
  /** bench/c-reference/ref.c over the same frames, ns/packet: node-1's work only, and the whole path (`full`). */
  readonly cReference?: { readonly node1Ns: number; readonly fullNs: number; readonly packets: number };
  /** Why the C reference did not run. */
  readonly cNote?: string;
  /** native ns/packet / C ns/packet (time ratio: 1 = as fast as C, 2 = twice as slow). */
  readonly nativeOverC?: { readonly node1: number; readonly full: number };
}

export interface IssueTarget {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}
