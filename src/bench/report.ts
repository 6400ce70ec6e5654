/** Text and Markdown renderings of a BenchReport (pure). */
import { BUDGETS, CPU_BUDGETS, budget, headroom } from './budgets.js';
import type { Comparison } from './compare.js';
import { coverageRows } from './coverage.js';
import type { BenchReport } from './types.js';

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`;
}

function fmtRate(pps: number): string {
  if (pps >= 1e6) return `${(pps / 1e6).toFixed(2)} M`;
  return pps >= 1e3 ? `${(pps / 1e3).toFixed(0)} k` : pps.toFixed(1); // e.g. Maglev builds/s
}

export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function mdTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const STAGE_HEAD = ['stage', 'engine', 'code', 'p50/packet', 'p99/packet', 'packets/s', 'pkts/call', 'budget', 'headroom', 'model', 'timing'];

function stageRows(r: BenchReport): string[][] {
  return r.stages.map((s) => {
    const b = budget(s.budget);
    return [s.key, s.engine, s.impl ?? s.engine, fmtNs(s.p50Ns), fmtNs(s.p99Ns), fmtRate(s.packetsPerSec), s.packetsPerCall.toFixed(0),
      b ? `${fmtNs(b.ns)} ${b.quantile}` : '-', b ? `${headroom(b, s.p50Ns, s.p99Ns).toExponential(1)}x` : '-', s.model, s.timing ?? '-'];
  });
}

/** Engines of a report (v1 reports have only `engine`). */
function enginesOf(r: BenchReport): readonly string[] {
  return r.engines ?? r.engine.split('+');
}

/** The issue's stage list -> the rows that measure each stage, per engine. */
function coverageLines(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  const rows = coverageRows(r.stages, enginesOf(r)).map((c) => c.row
    ? [c.stage, c.row.key, c.row.engine, c.row.impl ?? c.row.engine, fmtNs(c.row.p50Ns), fmtNs(c.row.p99Ns), fmtRate(c.row.packetsPerSec), c.row.packetsPerCall.toFixed(0)]
    : [c.stage, 'not measured in this run', '-', '-', '-', '-', '-', '-']);
  return ['issue stage list -> rows (per engine; the largest size where a row has several)', table(['issue stage', 'row', 'engine', 'code', 'p50', 'p99', 'packets/s', 'pkts/call'], rows)];
}

/** Every row held against a budget, engine per row (headroom = budget / measured at the budget's quantile). */
function budgetLines(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  const rows = r.stages.flatMap((s) => {
    const b = budget(s.budget);
    if (!b) return [];
    const measured = b.quantile === 'p99' ? s.p99Ns : s.p50Ns;
    return [[b.id, s.key, s.engine, s.impl ?? s.engine, `${fmtNs(measured)} ${b.quantile}`, `${fmtNs(b.ns)} ${b.quantile}`, `${headroom(b, s.p50Ns, s.p99Ns).toExponential(1)}x`]];
  });
  return ['budgets, per row and engine', table(['budget', 'row', 'engine', 'code', 'measured', 'budget', 'headroom'], rows)];
}

/** iptables beside IPVS, service translation per new connection by Service count. */
function serviceLines(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  const sm = r.serviceModels ?? [];
  if (sm.length === 0) return [];
  const first = sm[0], last = sm[sm.length - 1];
  return [
    'service translation per new connection, iptables beside IPVS (ipvs4-in + nf4-prerouting p50, node-1)',
    table(['Services', 'iptables', 'IPVS', 'iptables / IPVS'], sm.map((x) => [x.n.toLocaleString('en-US'), fmtNs(x.iptablesNs), fmtNs(x.ipvsNs), `${x.ratio.toFixed(1)}x`])),
    `largest/smallest (${last.n.toLocaleString('en-US')} / ${first.n.toLocaleString('en-US')} Services, ${(last.n / first.n).toFixed(0)}x the Services): iptables ${(last.iptablesNs / first.iptablesNs).toFixed(1)}x, IPVS ${(last.ipvsNs / first.ipvsNs).toFixed(1)}x`,
  ];
}

function scalingBlocks(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  return r.scaling.map((s) => [
    `${s.name}: ${s.metric}`,
    table([s.param, 'ns'], s.points.map((p) => [p.n.toLocaleString('en-US'), fmtNs(p.ns)])),
    `ratio largest/smallest: ${s.ratio.toFixed(2)}x in time for ${s.nRatio.toFixed(0)}x in size; growth exponent log(ratio)/log(size ratio) = ${(Math.log(s.ratio) / Math.log(s.nRatio)).toFixed(2)} (1: O(n), 0: O(1))`,
  ].join('\n\n'));
}

function cpuRows(r: BenchReport): string[][] {
  return r.cpuAtRate.map((c) => [c.model, `${(c.ratePps / 1e3).toFixed(0)} k/s`, `${c.cpuSecondsPer100k.toFixed(3)} s`, `${c.cpuPercent.toFixed(1)}%`,
    `${(100 * c.achieved).toFixed(0)}%`, `${(c.cpuSecondsPer100k * (c.ratePps / 100_000) * 100).toFixed(0)}%`, CPU_BUDGETS[c.model] ? `${CPU_BUDGETS[c.model].percent}%` : '-']);
}
const CPU_HEAD = ['model', 'rate', 'CPU s / 100k pkts', 'CPU (one core)', 'rate kept', 'cores needed for the full rate', 'course'];

function policyLines(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  const pm = r.policyModels ?? [];
  if (pm.length === 0) return [];
  const rows = pm.map((x) => [x.n.toLocaleString('en-US'), fmtNs(x.ebpfNs), fmtNs(x.iptablesNs), `${x.ratio.toFixed(1)}x`]);
  return ['policy verdict per new flow, both models (decide() p50); course: about 100x at 10,000 rules', table(['rules', 'eBPF map', 'iptables chain', 'iptables / eBPF'], rows)];
}

function maglevLines(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  const mb = r.maglevBuilds ?? [];
  if (mb.length === 0) return [];
  return ['Maglev table build (median)', table(['M', 'backends', 'build', 'runs'], mb.map((b) => [String(b.m), String(b.backends), `${b.ms.toFixed(2)} ms`, String(b.runs)]))];
}

const pct = (x: number): string => `${(100 * x).toFixed(x < 0.995 && x > 0.99 ? 1 : 0)}%`;

/** The issue's workloads (a) and (b): whole pipeline per engine, ratios, the C reference, the targets, per-stage side by side. */
export function issueLines(r: BenchReport, table: (h: readonly string[], rows: readonly (readonly string[])[]) => string): string[] {
  const ws = r.issueWorkloads ?? [];
  if (ws.length === 0) return [];
  const eng = (w: (typeof ws)[number], e: string) => w.engines.find((x) => x.engine === e);
  const rate = (f?: { packetsPerSec: number; nsPerPacket: number; stageNsPerPacket?: number }): string =>
    (f ? `${fmtRate(f.packetsPerSec)} (${fmtNs(f.nsPerPacket)}${f.stageNsPerPacket !== undefined ? `, ${fmtNs(f.stageNsPerPacket)} in stages` : ''})` : '-');
  const whole = ws.map((w) => {
    const t = eng(w, 'ts'), n = eng(w, 'native');
    return [w.name, rate(t), rate(n), w.nativeOverTs !== undefined ? `${w.nativeOverTs.toFixed(2)}x` : '-',
      n ? `${n.nativeDispatch ? 'on' : 'OFF'}, ${pct(n.nativeShare)} native` : '-',
      w.cReference ? `${fmtRate(1e9 / w.cReference.node1Ns)} (${fmtNs(w.cReference.node1Ns)})` : '-',
      w.cReference ? `${fmtRate(1e9 / w.cReference.fullNs)} (${fmtNs(w.cReference.fullNs)})` : '-',
      w.nativeOverC ? `${w.nativeOverC.node1.toFixed(1)}x` : '-', w.nativeOverC ? `${w.nativeOverC.full.toFixed(1)}x` : '-'];
  });
  const w0 = ws[0];
  const out = [
    `issue workloads, whole pipeline (${w0.packets.toLocaleString('en-US')} packets after ${w0.warmup.toLocaleString('en-US')} of warm-up, ${w0.flows} flows, capture batches of ${w0.batch} queued with injectFrames; packets/s (ns/packet wall, of which inside stage calls per the counters); native/C = native time over C time)`,
    table(['workload', 'TypeScript', 'native', 'native/TS', 'native dispatcher, stage packets native', 'C node-1 only', 'C whole path', 'native/C node-1', 'native/C whole'], whole),
  ];
  if (r.issueTargets && r.issueTargets.length > 0) {
    out.push('issue targets (native engine, workload (a))', table(['target', 'measured', 'met'], r.issueTargets.map((t) => [t.target, t.measured, t.met ? 'met' : 'NOT met'])));
  }
  for (const w of ws) {
    const rows = r.stages.filter((s) => s.key.startsWith(`issue-${w.id}/`) && !s.key.endsWith('/whole'));
    const names = [...new Set(rows.map((s) => s.key))];
    const lines = names.map((k) => {
      const t = rows.find((s) => s.key === k && s.engine === 'ts');
      const n = rows.find((s) => s.key === k && s.engine === 'native');
      return [k.slice(k.indexOf('/') + 1), t ? fmtNs(t.meanNs) : '-', n ? fmtNs(n.meanNs) : '-', t && n ? `${(t.meanNs / n.meanNs).toFixed(1)}x` : '-', n ? n.impl ?? '-' : '-', n?.nativeShare !== undefined ? pct(n.nativeShare) : '-'];
    });
    if (lines.length > 0) out.push(`workload (${w.id}) per stage: ns per node-packet from the engine's counters (all nodes; native dispatcher on)`, table(['stage', 'ts', 'native', 'ts/native', 'code', 'native share'], lines));
  }
  return out;
}

function kernelLines(r: BenchReport): string[] {
  if (!r.kernelPeer.ran) return [`kernel peer: ${r.kernelPeer.note}`];
  const whole = r.stages.find((s) => s.key === 'pipeline/whole' && s.engine === 'ts');
  const chain = r.stages.find((s) => s.key.startsWith('scaling/iptables-service-chain@'));
  return [`kernel peer (${r.kernelPeer.note}):`, ...r.kernelPeer.rows.map((k) => `  ${k.name}: ${fmtRate(k.pps)} packets/s (${fmtNs(k.nsPerPacket)}/packet)`),
    ...(whole ? [`  beside dpemu, established flows, whole pipeline (3 nodes, VXLAN): ${fmtRate(whole.packetsPerSec)} packets/s (${fmtNs(whole.meanNs)}/packet)`] : []),
    ...(chain ? [`  beside dpemu, new connection through ${chain.stage}: ${fmtNs(chain.meanNs)}/packet (ipvs4-in + nf4-prerouting on node-1)`] : [])];
}

export function renderText(r: BenchReport): string {
  return [
    `dpemu bench (suite v${r.suiteVersion}, ${r.mode}, engines ${enginesOf(r).join(', ')}) node ${r.node}, ${r.cores} x ${r.cpu}`,
    `calibration loop ${r.calibrationNs.toFixed(3)} ns/iteration${r.calibrationRunsNs ? ` (lower of ${r.calibrationRunsNs.map((x) => x.toFixed(3)).join(' and ')}, start and end)` : ''}; peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    '',
    textTable(STAGE_HEAD, stageRows(r)),
    '',
    ...issueLines(r, textTable).flatMap((b) => [b, '']),
    ...coverageLines(r, textTable).flatMap((b) => [b, '']),
    ...budgetLines(r, textTable).flatMap((b) => [b, '']),
    ...scalingBlocks(r, textTable).flatMap((b) => [b, '']),
    ...serviceLines(r, textTable).flatMap((b) => [b, '']),
    ...policyLines(r, textTable).flatMap((b) => [b, '']),
    ...maglevLines(r, textTable).flatMap((b) => [b, '']),
    'CPU at a fixed rate:',
    textTable(CPU_HEAD, cpuRows(r)),
    '',
    ...kernelLines(r),
    '',
    ...r.gaps.map((g) => `not measured: ${g}`),
  ].join('\n');
}

export function renderCompare(c: Comparison): string {
  const rows = c.rows.map((x) => [x.key, `${x.ratio.toFixed(2)}x`, x.regressed ? 'SLOWER' : 'ok']); // key is rowId: `<key> [<engine>]`
  return [
    `compare (normalized by the calibration loop; threshold +${(c.threshold * 100).toFixed(0)}%${c.runs > 1 ? `; each ratio the best of ${c.runs} runs` : ''}):`,
    textTable(['stage', 'now / baseline', ''], rows),
    ...(c.onlyBaseline.length > 0 ? [`only in baseline: ${c.onlyBaseline.join(', ')}`] : []),
    ...(c.onlyCurrent.length > 0 ? [`only in this run: ${c.onlyCurrent.join(', ')}`] : []),
    ...(c.noise.length > 0 ? [`slower in the first run only (noise, not counted): ${c.noise.join(', ')}`] : []),
    c.regressions.length > 0 ? `${c.regressions.length} stage(s) slower beyond the threshold` : 'no stage slower beyond the threshold',
  ].join('\n');
}

/** The generated block of docs/benchmarks.md. */
export function renderMarkdown(r: BenchReport): string {
  return [
    `Run ${r.date}, suite v${r.suiteVersion} (${r.mode}), engines ${enginesOf(r).join(', ')}, node ${r.node}, ${r.cores} x ${r.cpu}; calibration loop ${r.calibrationNs.toFixed(3)} ns/iteration; peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB.`,
    '',
    ...(r.issueWorkloads && r.issueWorkloads.length > 0 ? ['### Issue workloads (a) and (b)', '', ...issueLines(r, mdTable).flatMap((b) => [b, ''])] : []),
    ...coverageLines(r, mdTable).flatMap((b) => [b, '']),
    '### Budgets',
    '',
    ...budgetLines(r, mdTable).flatMap((b) => [b, '']),
    '### All rows',
    '',
    mdTable(STAGE_HEAD, stageRows(r)),
    '',
    '![per-stage latency vs budget](bench/latency.svg)',
    '',
    '### Scaling',
    '',
    ...scalingBlocks(r, mdTable).flatMap((b) => [b, '']),
    ...serviceLines(r, mdTable).flatMap((b) => [b, '']),
    '![scaling curves](bench/scaling.svg)',
    '',
    ...policyLines(r, mdTable).flatMap((b) => [b, '']),
    ...maglevLines(r, mdTable).flatMap((b) => [b, '']),
    '### CPU at a fixed rate',
    '',
    mdTable(CPU_HEAD, cpuRows(r)),
    '',
    '### Kernel peer',
    '',
    ...kernelLines(r),
    '',
    '### Not measured in this run',
    '',
    ...r.gaps.map((g) => `- ${g}`),
    '',
    '### Budgets (src/bench/budgets.ts)',
    '',
    mdTable(['id', 'budget', 'course text'], BUDGETS.map((b) => [b.id, `${fmtNs(b.ns)} ${b.quantile}`, b.source])),
  ].join('\n');
}
