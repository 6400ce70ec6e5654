/**
 * eBPF load balancing without the packet path: socket LB (EbpfNodeState.connect, Cilium's cgroup/connect4)
 * per new connection and per reused (connected) socket, with random and Maglev backend selection; Maglev
 * table build time and lookup (hash_from_tuple_v4 + table[hash % M]) at M = 16381 and 65521.
 */
import { EbpfNodeState, SOCK_CONNECTED, SOCK_NEW, SockLbResult, type LbAlgorithm } from '../ebpf/state.js';
import { maglevConfig, maglevFlowHash4, maglevLookup, maglevTable, type MaglevBackend } from '../lb/maglev.js';
import { Prng } from '../util/prng.js';
import { ENGINE } from './pipeline.js';
import { Samples, quantile } from './stats.js';
import { serviceVip, syntheticCluster } from './synthetic.js';
import type { StageResult } from './types.js';

function row(key: string, stage: string, model: string, s: Samples, total: number, count: number, budget?: string): StageResult {
  const v = s.values();
  return { key, suite: key.split('/')[0], stage, engine: ENGINE, model, p50Ns: quantile(v, 0.5), p99Ns: quantile(v, 0.99), meanNs: total / count, packetsPerSec: (count * 1e9) / total, packetsPerCall: 1, samples: s.length, budget };
}

/** connect() for `conns` new sockets (distinct source ports) to random Services, then the same sockets again (reuse). */
export function socketLb(services: number, conns: number, algorithm: LbAlgorithm): StageResult[] {
  const cluster = syntheticCluster(services, 'ebpf', true);
  const node = cluster.nodes.find((n) => n.name === 'node-1')!;
  const st = new EbpfNodeState(cluster, node, { lbAlgorithm: algorithm, sockMapEntries: 2 * conns + 1024 });
  const out = new SockLbResult();
  const rng = new Prng(41);
  const vip = new Uint32Array(conns);
  for (let i = 0; i < conns; i++) vip[i] = serviceVip(rng.nextU32() % services);
  const client = 0x0af40105;
  const B = 256;
  const pass = (base: number, expect: number, from: number, to: number, s: Samples | null): number => {
    let total = 0;
    for (let i = from; i < to; i += B) {
      const end = Math.min(to, i + B);
      const t0 = process.hrtime.bigint();
      for (let k = i; k < end; k++) {
        const r = st.connect(client, base + k, vip[k], 80, 6, 1000, out);
        if (r !== expect) throw new Error(`socket LB bench: connect() returned ${r}, expected ${expect}`);
      }
      const ns = Number(process.hrtime.bigint() - t0);
      s?.push(ns / (end - i));
      total += ns;
    }
    return total;
  };
  // Warm-up on other source ports (port space: 1024 + k, and 40000 + k for the warm-up; conns <= 38,000).
  const warm = Math.min(conns, 4096);
  pass(40000, SOCK_NEW, 0, warm, null);
  const sNew = new Samples(), sReuse = new Samples();
  const tNew = pass(1024, SOCK_NEW, 0, conns, sNew);
  const tReuse = pass(1024, SOCK_CONNECTED, 0, conns, sReuse);
  const tag = algorithm === 'maglev' ? 'maglev' : 'random';
  return [
    row(`socket-lb/connect new (${tag}, ${services} Services)`, `eBPF socket LB, new connection, ${tag} backend`, 'ebpf', sNew, tNew, conns, 'socket-lb'),
    row(`socket-lb/connect reuse (${tag}, ${services} Services)`, 'eBPF socket LB, connected socket (no LB decision)', 'ebpf', sReuse, tReuse, conns, 'socket-lb'),
  ];
}

export interface MaglevResult {
  readonly stages: StageResult[];
  /** Table build time, ms (median of the builds), per M. */
  readonly builds: { m: number; backends: number; ms: number; runs: number }[];
}

/** Maglev table build (median of `runs`) and lookup ns (batches of 1024 lookups of seeded tuples) per M. */
export function maglevBench(sizes: readonly number[], backends: number, runs: number, lookups: number): MaglevResult {
  const list: MaglevBackend[] = Array.from({ length: backends }, (_, i) => ({ id: i + 1, address: `10.244.${2 + (i >> 8)}.${i & 255}`, port: 8080, protocol: 'TCP' }));
  const stages: StageResult[] = [];
  const builds: MaglevResult['builds'] = [];
  const rng = new Prng(5);
  const saddr = new Uint32Array(4096), sport = new Uint16Array(4096);
  for (let i = 0; i < 4096; i++) {
    saddr[i] = rng.nextU32();
    sport[i] = 1024 + (rng.nextU32() % 60000);
  }
  let sink = 0;
  for (const m of sizes) {
    const cfg = maglevConfig({ tableSize: m });
    const times: number[] = [];
    let table = maglevTable(list, cfg); // warm-up
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      table = maglevTable(list, cfg);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    builds.push({ m, backends, ms: times[times.length >> 1], runs });
    // Also a row (one operation = one whole table build), so build has p50/p99 and a --compare identity like every stage.
    const buildNs = times.reduce((a, t) => a + t, 0) * 1e6;
    stages.push({
      key: `maglev/build M=${m}`, suite: 'maglev', stage: `Maglev table build, ${backends} backends`, engine: ENGINE, impl: ENGINE, model: 'ebpf',
      p50Ns: quantile(times, 0.5) * 1e6, p99Ns: quantile(times, 0.99) * 1e6, meanNs: buildNs / runs, packetsPerSec: (runs * 1e9) / buildNs, packetsPerCall: 1, samples: runs,
    });
    const s = new Samples();
    let total = 0;
    const seed = cfg.seedJhash0;
    for (let done = -8; done < lookups / 1024; done++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 1024; i++) sink ^= maglevLookup(table, maglevFlowHash4(saddr[i & 4095], sport[(i * 7) & 4095], 80, 6, seed));
      const ns = Number(process.hrtime.bigint() - t0);
      if (done >= 0) {
        s.push(ns / 1024);
        total += ns;
      }
    }
    stages.push(row(`maglev/lookup M=${m}`, `Maglev lookup (jhash of the tuple + table[hash % M]), ${backends} backends`, 'ebpf', s, total, Math.floor(lookups / 1024) * 1024, 'ebpf-map'));
  }
  if (sink === 0.5) throw new Error('unreachable');
  return { stages, builds };
}
