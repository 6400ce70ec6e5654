/**
 * Policy verdict cost in both models, by rule count: `PolicyEngine.decide()` for a new flow (ingress of the
 * target pod, random allowed (peer, port) drawn from the rule set, seeded), and the policy4 stages through a
 * Dataplane (SYNs from the peer pods, each a new conntrack entry, so every packet is decided).
 * iptables: the to-workload chain is walked rule by rule (a draw stops at its rule: half the chain on average).
 * eBPF: ipcache lookup + two policy map lookups, whatever the rule count.
 */
import { Dataplane } from '../dataplane/dataplane.js';
import { buildFrame } from '../packet/build.js';
import { PolicyEngine, type PolicyMode } from '../policy/engine.js';
import { DEFAULT_POLICY_MAP_MAX_ENTRIES } from '../policy/policy-map.js';
import type { Cluster } from '../scenario/model.js';
import { Prng } from '../util/prng.js';
import { ENGINE, rowsFrom, sampler, type Acc } from './pipeline.js';
import { POLICY_PORT_BASE, POLICY_TARGET_IP, policyCluster, policyPeerIp32, policyPeers } from './policy-data.js';
import { Samples, quantile } from './stats.js';
import { ip4 } from './synthetic.js';
import type { StageResult } from './types.js';

export interface PolicyPoint {
  readonly n: number;
  readonly mode: PolicyMode;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly decisions: number;
  /** True when the eBPF map needed more entries than Cilium's default bpf-policy-map-max (16,384). */
  readonly overDefaultMap: boolean;
}

/** Seeded draws: rule index i = k * P + j < N, peer j, port base + k (always an allow rule). */
function draws(n: number, count: number, seed: number): { peer: Uint32Array; port: Uint16Array } {
  const p = policyPeers(n);
  const rows = Math.ceil(n / p);
  const rng = new Prng(seed);
  const peer = new Uint32Array(count);
  const port = new Uint16Array(count);
  for (let d = 0; d < count; ) {
    const j = rng.nextU32() % p;
    const k = rng.nextU32() % rows;
    if (k * p + j >= n) continue;
    peer[d] = policyPeerIp32(j);
    port[d++] = POLICY_PORT_BASE + k;
  }
  return { peer, port };
}

/**
 * decide() per new flow: batches sized so one batch takes >= ~0.2 ms (one decision at large N in iptables
 * mode), p50/p99 across batches, for about `seconds` after a warm-up.
 */
export function decideNs(cluster: Cluster, n: number, mode: PolicyMode, seconds: number): PolicyPoint {
  const engine = new PolicyEngine(cluster, { mode, maxEntries: Math.max(DEFAULT_POLICY_MAP_MAX_ENTRIES, 2 * n + 64) });
  const overflow = engine.diagnostics.find((d) => d.code === 'POLICY_MAP_OVERFLOW');
  if (overflow) throw new Error(`policy bench: ${overflow.message}`);
  const target = cluster.pods.find((p) => p.name === 'target');
  if (!target) throw new Error('policy bench cluster has no target pod');
  const D = 65536;
  const { peer, port } = draws(n, D, 31 + n);
  let k = 0;
  let denied = 0;
  const batch = (size: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < size; i++) {
      const v = engine.decide(target, 'ingress', peer[k], 'tcp', port[k]);
      if (v.verdict === 'DENY') denied++;
      k = (k + 1) & (D - 1);
    }
    return Number(process.hrtime.bigint() - t0) / size;
  };
  // Warm-up, and batch size from the warm-up's cost.
  const w0 = performance.now();
  let per = batch(16);
  while (performance.now() - w0 < Math.min(300, seconds * 300)) per = batch(16);
  const size = Math.max(1, Math.min(1024, Math.round(200_000 / Math.max(1, per))));
  const s = new Samples();
  let total = 0, count = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < seconds || s.length < 20) {
    const ns = batch(size);
    s.push(ns);
    total += ns * size;
    count += size;
  }
  if (denied > 0) throw new Error(`policy bench: ${denied} draws denied in ${mode} mode at ${n} rules; every draw should match an allow rule`);
  const v = s.values();
  return { n, mode, p50: quantile(v, 0.5), p99: quantile(v, 0.99), mean: total / count, decisions: count, overDefaultMap: mode === 'ebpf' && n > DEFAULT_POLICY_MAP_MAX_ENTRIES };
}

/** SYNs from the peer pods to the target pod: every packet a new flow, hence a policy decision at policy4-ingress. */
function policySyns(n: number, count: number): { frames: Uint8Array[]; from: number[] } {
  const { peer, port } = draws(n, count, 77 + n);
  const frames: Uint8Array[] = [];
  const from: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = (peer[i] - policyPeerIp32(0)) >>> 0;
    const mac = `0a:58:0a:f4:01:${(10 + j).toString(16).padStart(2, '0')}`;
    frames.push(buildFrame([
      { type: 'eth', src: mac, dst: 'ee:ee:ee:ee:ee:ee' },
      { type: 'ipv4', src: ip4(peer[i]), dst: POLICY_TARGET_IP, ttl: 64, df: true },
      { type: 'tcp', srcPort: 1024 + ((i / policyPeers(n)) | 0) % 60000, dstPort: port[i], flags: 0x02, seq: i * 7919 },
    ]));
    from.push(j);
  }
  return { frames, from };
}

/** policy4-ingress@node-2 (and policy4-egress@node-1) per packet in a Dataplane of the given model. */
export function policyPipeline(cluster: Cluster, n: number, mode: PolicyMode, packets: number): StageResult[] {
  const c: Cluster = { ...cluster, kubeProxy: { ...cluster.kubeProxy, mode } };
  const dp = new Dataplane(c, { poolSize: 8192, vectorSize: 256 });
  const devs = Array.from({ length: policyPeers(n) }, (_, j) => {
    const d = dp.findDevice(`default/peer-${j}`);
    if (!d) throw new Error(`policy bench cluster has no default/peer-${j}`);
    return d.id;
  });
  const { frames, from } = policySyns(n, packets);
  const pool = dp.pool;
  const accs = new Map<string, Acc>();
  const run = (a: number, b: number): void => {
    for (let i = a; i < b; i += 256) {
      const end = Math.min(b, i + 256);
      for (let k = i; k < end; k++) {
        const f = frames[k];
        const s = pool.load(f, 0, f.length, f.length, 1000 + k / 1e5, 0);
        pool.frameNo[s] = k + 1;
        dp.inject(s, devs[from[k]]);
      }
      dp.run();
    }
  };
  const warm = Math.floor(packets / 4);
  run(0, warm);
  dp.engine.onCall = sampler(accs);
  run(warm, packets);
  dp.engine.onCall = null;
  const keep = (k: string): boolean => k === 'policy4-ingress@node-2';
  const rows = rowsFrom(`policy-pipeline-${mode}-${n}rules`, mode, accs, keep, { 'policy4-ingress@node-2': 'policy' });
  if (rows.length === 0 || rows[0].packetsPerCall === 0) throw new Error(`policy bench: no packet reached policy4-ingress@node-2 (${mode}, ${n} rules)`);
  return rows;
}

export interface PolicySuite {
  readonly points: readonly PolicyPoint[];
  readonly stages: readonly StageResult[];
}

export function runPolicy(sizes: readonly number[], pipelineSizes: readonly number[], seconds: number, pipelinePackets: number, progress: (l: string) => void): PolicySuite {
  const points: PolicyPoint[] = [];
  const stages: StageResult[] = [];
  for (const n of sizes) {
    progress(`policy: ${n.toLocaleString('en-US')} rules, building`);
    const cluster = policyCluster(n, 'iptables');
    for (const mode of ['ebpf', 'iptables'] as const) {
      progress(`policy: ${n.toLocaleString('en-US')} rules, decide() ${mode}`);
      const p = decideNs(cluster, n, mode, seconds);
      points.push(p);
      stages.push({
        key: `policy/decide-${mode}@${n}`, suite: 'policy', stage: `policy verdict, new flow, ${n} rules${p.overDefaultMap ? ' (map above Cilium default 16,384)' : ''}`,
        engine: ENGINE, model: mode, p50Ns: p.p50, p99Ns: p.p99, meanNs: p.mean, packetsPerSec: 1e9 / p.mean, packetsPerCall: 1, samples: p.decisions,
        budget: n === 10_000 ? (mode === 'iptables' ? 'iptables-10k' : 'ebpf-map') : 'policy',
      });
    }
    if (pipelineSizes.includes(n)) {
      for (const mode of ['ebpf', 'iptables'] as const) {
        progress(`policy: ${n.toLocaleString('en-US')} rules, policy4-ingress through a Dataplane (${mode})`);
        stages.push(...policyPipeline(cluster, n, mode, pipelinePackets));
      }
    }
  }
  return { points, stages };
}
