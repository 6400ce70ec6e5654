/**
 * Scaling series: the same operation at growing table sizes, reported as a table and as the ratio
 * ns(largest) / ns(smallest) beside n(largest) / n(smallest), so O(n) (ratios close) and O(1) (ns ratio
 * near 1) are visible.
 */
import { ConntrackTable } from '../conntrack/table.js';
import { KERNEL_CT_TIMEOUTS } from '../scenario/index.js';
import { serviceChainNs } from './pipeline.js';
import { scalingRatio } from './stats.js';
import type { ScalingResult } from './types.js';

function series(name: string, param: string, metric: string, points: { n: number; ns: number }[]): ScalingResult {
  return { name, param, metric, points, ...scalingRatio(points) };
}

export interface ServicePoint {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

export interface ServiceScaling {
  /** One series per kube-proxy model (iptables, ipvs). */
  readonly results: readonly ScalingResult[];
  /** iptables beside IPVS at every size. */
  readonly models: readonly { n: number; iptablesNs: number; ipvsNs: number; ratio: number }[];
  /** The largest size per model (the iptables p99 is held against the 10,000-rule budget). */
  readonly largest: Readonly<Record<'iptables' | 'ipvs', ServicePoint>>;
}

/**
 * Service translation per new connection by Service count, iptables and IPVS on the same SYNs:
 * ipvs4-in + nf4-prerouting on node-1 (conntrack insert plus the nat walk, or the IPVS lookup and scheduler).
 */
export function servicesScaling(sizes: readonly number[], packets: number, progress: (msg: string) => void): ServiceScaling {
  const points = { iptables: [] as { n: number; ns: number }[], ipvs: [] as { n: number; ns: number }[] };
  const largest: Record<'iptables' | 'ipvs', ServicePoint> = { iptables: { n: 0, p50: 0, p99: 0, mean: 0 }, ipvs: { n: 0, p50: 0, p99: 0, mean: 0 } };
  const models: { n: number; iptablesNs: number; ipvsNs: number; ratio: number }[] = [];
  for (const n of sizes) {
    const at: Partial<Record<'iptables' | 'ipvs', number>> = {};
    for (const model of ['iptables', 'ipvs'] as const) {
      progress(`Services ${n.toLocaleString('en-US')} (${model})`);
      const r = serviceChainNs(n, packets, model);
      points[model].push({ n, ns: r.p50 });
      at[model] = r.p50;
      if (n >= largest[model].n) largest[model] = { n, p50: r.p50, p99: r.p99, mean: r.mean };
    }
    models.push({ n, iptablesNs: at.iptables!, ipvsNs: at.ipvs!, ratio: at.iptables! / at.ipvs! });
  }
  const metric = 'ipvs4-in + nf4-prerouting p50 ns/packet, node-1';
  return {
    results: [series('iptables service chain (new connection)', 'Services', metric, points.iptables), series('IPVS virtual service (new connection)', 'Services', metric, points.ipvs)],
    models,
    largest,
  };
}

/** Service translation steps: one per size and model (for the progress count). */
export function servicesScalingSteps(sizes: readonly number[]): number {
  return 2 * sizes.length;
}

/** Conntrack lookup hit at growing table sizes (random existing flows, so cache misses grow with the table). */
export function conntrackScaling(sizes: readonly number[], progress: (msg: string) => void): ScalingResult {
  const OPS = 200_000;
  const points: { n: number; ns: number }[] = [];
  let sink = 0;
  for (const n of sizes) {
    progress(`conntrack ${n.toLocaleString('en-US')} entries`);
    const ct = new ConntrackTable(n + 1024, KERNEL_CT_TIMEOUTS, { seed: 1 });
    const src = (i: number): number => (0x0af40000 + (i >>> 16)) >>> 0;
    const sport = (i: number): number => 1024 + ((i & 0xffff) % 60000);
    for (let i = 0; i < n; i++) ct.confirm(ct.create(6, 0, src(i), 0x0a600514, sport(i), 80, 0), 0);
    let k = 0;
    const run = (): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < OPS; i++) {
        k = (k + 7919) % n;
        sink ^= ct.lookup(6, 0, src(k), 0x0a600514, sport(k), 80, 1);
      }
      return Number(process.hrtime.bigint() - t0) / OPS;
    };
    run(); // warm-up
    const runs = [run(), run(), run(), run(), run()].sort((a, b) => a - b);
    points.push({ n, ns: runs[2] });
  }
  if (sink === 0.5) progress(String(sink));
  return series('conntrack lookup hit', 'entries', 'median ns/lookup', points);
}
