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

export interface ServiceScaling {
  readonly result: ScalingResult;
  /** p99 at the largest size (held against the 10,000-rule budget). */
  readonly largest: { n: number; p50: number; p99: number; mean: number };
}

/** iptables service chain: nf4-prerouting (conntrack insert + nat walk) per new connection, by Service count. */
export function servicesScaling(sizes: readonly number[], packets: number, progress: (msg: string) => void): ServiceScaling {
  const points: { n: number; ns: number }[] = [];
  let largest = { n: 0, p50: 0, p99: 0, mean: 0 };
  for (const n of sizes) {
    progress(`Services ${n.toLocaleString('en-US')}`);
    const r = serviceChainNs(n, packets);
    points.push({ n, ns: r.p50 });
    if (n >= largest.n) largest = { n, ...r };
  }
  return { result: series('iptables service chain (new connection)', 'Services', 'nf4-prerouting p50 ns/packet, node-1', points), largest };
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
