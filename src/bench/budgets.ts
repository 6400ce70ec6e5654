/**
 * The course's latency and CPU budgets, each with the sentence it comes from, so the bench table can set
 * a measured figure beside the number it is held to. Budgets are per packet (or per operation) in ns.
 * `quantile` says which measured figure the budget is about: the course's "p99" budgets are compared with p99.
 */
export interface Budget {
  readonly id: string;
  readonly what: string;
  readonly ns: number;
  readonly quantile: 'p50' | 'p99';
  /** The course's words. */
  readonly source: string;
}

const MS = 1e6;

export const BUDGETS: readonly Budget[] = [
  { id: 'vxlan', what: 'VXLAN encap or decap', ns: 1 * MS, quantile: 'p50', source: 'VXLAN encap/decap 1 ms' },
  { id: 'service-lb', what: 'service load balancing', ns: 5 * MS, quantile: 'p50', source: 'service load balancing 5 ms' },
  { id: 'policy', what: 'policy check (upper end of 0.1-0.5 ms)', ns: 0.5 * MS, quantile: 'p50', source: 'policy checks 0.1-0.5 ms' },
  { id: 'socket-lb', what: 'eBPF socket LB', ns: 1000, quantile: 'p50', source: "eBPF socket LB 'sub-microsecond'" },
  { id: 'iptables-10k', what: 'iptables service chain with 10,000 rules', ns: 50 * MS, quantile: 'p99', source: 'iptables with 10,000 rules 50 ms p99' },
  { id: 'ebpf-map', what: 'eBPF map lookup (conntrack / service map)', ns: 0.5 * MS, quantile: 'p99', source: "eBPF map 0.5 ms p99 ('100x')" },
];

/** CPU share of one core at 100K packets/s, by kube-proxy model. */
export const CPU_BUDGETS: Readonly<Record<string, { percent: number; source: string }>> = {
  iptables: { percent: 80, source: 'iptables 80% CPU vs eBPF 15% at 100K packets/s' },
  ebpf: { percent: 15, source: 'iptables 80% CPU vs eBPF 15% at 100K packets/s' },
};

export function budget(id: string | undefined): Budget | undefined {
  return id === undefined ? undefined : BUDGETS.find((b) => b.id === id);
}

/** Budget / measured (at the budget's quantile): > 1 is inside the budget by that factor. */
export function headroom(b: Budget, p50Ns: number, p99Ns: number): number {
  const measured = b.quantile === 'p99' ? p99Ns : p50Ns;
  return b.ns / measured;
}
