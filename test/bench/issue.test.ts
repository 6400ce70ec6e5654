import { describe, expect, it } from 'vitest';
import { compareReports, rowId, validateBaseline } from '../../src/bench/compare.js';
import { issueTargets, workloadRows } from '../../src/bench/issue.js';
import { ISSUE_BATCH, measureWorkload, type BatchSample, type StageTotals, type WorkloadRun } from '../../src/bench/issue-workloads.js';
import { issueLines, mdTable, renderMarkdown, renderText } from '../../src/bench/report.js';
import { REPORT_TOOL, SUITE_VERSION, type BenchReport, type IssueWorkloadResult, type StageResult } from '../../src/bench/types.js';
import { loadNative } from '../../src/native/loader.js';

const totals = (ns: number, packets: number, native: number, calls = 1): StageTotals => ({ ns, calls, packets, native });
const batch = (ns: number, stages: [string, StageTotals][]): BatchSample => ({ packets: 100, ns, stages: new Map(stages) });

function fakeRun(engine: 'ts' | 'native'): WorkloadRun {
  const batches = [
    batch(1000, [['nf4-prerouting', totals(300, 300, engine === 'native' ? 300 : 0)], ['vxlan4-encap', totals(50, 100, engine === 'native' ? 90 : 0)]]),
    batch(3000, [['nf4-prerouting', totals(900, 300, engine === 'native' ? 300 : 0)], ['vxlan4-encap', totals(100, 100, engine === 'native' ? 100 : 0)]]),
  ];
  const stages = new Map<string, StageTotals>([['nf4-prerouting', totals(1200, 600, engine === 'native' ? 600 : 0, 2)], ['vxlan4-encap', totals(150, 200, engine === 'native' ? 190 : 0, 2)]]);
  return { engine, packets: 200, ns: 4000, batches, stages, nativeDispatch: engine === 'native', nodeNs: new Map([['node-1', 900]]) };
}

const workload = (nativePps: number, tsPps: number, cFullNs?: number): IssueWorkloadResult => ({
  id: 'a', name: '(a)', packets: 1000, warmup: 100, flows: 4096, batch: ISSUE_BATCH,
  engines: [
    { engine: 'ts', packetsPerSec: tsPps, nsPerPacket: 1e9 / tsPps, nativeDispatch: false, nativeShare: 0 },
    { engine: 'native', packetsPerSec: nativePps, nsPerPacket: 1e9 / nativePps, nativeDispatch: true, nativeShare: 1, node1StageNsPerPacket: 0.4e9 / nativePps },
  ],
  nativeOverTs: nativePps / tsPps,
  ...(cFullNs !== undefined ? { cReference: { node1Ns: cFullNs / 2, fullNs: cFullNs, packets: 1e6 }, nativeOverC: { node1: 1e9 / nativePps / (cFullNs / 2), full: 1e9 / nativePps / cFullNs } } : {}),
});

describe('issue workload rows', () => {
  it('whole row first (batch timing, p50/p99 across batches), then one counters row per stage with the native share', () => {
    const rows = workloadRows('a', '(a) x', 'iptables', fakeRun('native'));
    expect(rows.map((r) => r.key)).toEqual(['issue-a/whole', 'issue-a/nf4-prerouting', 'issue-a/vxlan4-encap']);
    const [whole, ct, encap] = rows;
    expect(whole).toMatchObject({ engine: 'native', timing: 'batch', packetsPerCall: ISSUE_BATCH, samples: 2, meanNs: 20, packetsPerSec: 5e7, impl: 'native+ts' });
    expect(whole.p50Ns).toBe(10); // batches of 100 packets: 10 and 30 ns/packet, nearest rank
    expect(whole.p99Ns).toBe(30);
    expect(whole.nativeShare).toBeCloseTo(790 / 800);
    expect(ct).toMatchObject({ engine: 'native', impl: 'native', timing: 'counters', meanNs: 2, packetsPerCall: 300, samples: 2, nativeShare: 1 });
    expect(ct.p50Ns).toBe(1);
    expect(ct.p99Ns).toBe(3);
    expect(encap).toMatchObject({ impl: 'native+ts', nativeShare: 0.95 });
    const ts = workloadRows('a', '(a) x', 'iptables', fakeRun('ts'));
    expect(ts.every((r) => r.impl === 'ts' && r.nativeShare === undefined && r.engine === 'ts')).toBe(true);
  });

  it('--compare keeps ts and native issue rows apart and flags only the slower one', () => {
    const cur = [...workloadRows('a', 'a', 'iptables', fakeRun('ts')), ...workloadRows('a', 'a', 'iptables', fakeRun('native'))];
    const slower = cur.map((s) => (s.key === 'issue-a/whole' && s.engine === 'native' ? { ...s, p50Ns: s.p50Ns * 3 } : s));
    const c = compareReports({ stages: slower, calibrationNs: 2 }, { stages: cur, calibrationNs: 2 });
    expect(c.rows).toHaveLength(6);
    expect(c.regressions.map((r) => r.key)).toEqual(['issue-a/whole [native]']);
    expect(c.onlyBaseline).toEqual([]);
    expect(new Set(cur.map(rowId)).size).toBe(cur.length);
  });

  it('a v2 baseline is refused with what v3 changed', () => {
    expect(() => validateBaseline({ tool: REPORT_TOOL, suiteVersion: 2, engines: ['ts'], mode: 'default', calibrationNs: 1, stages: [] }, { suiteVersion: SUITE_VERSION, engines: ['ts'], mode: 'default' }))
      .toThrow(/suite version 2 .*native dispatcher/);
  });
});

describe('issue targets', () => {
  it('met only when the run reaches them', () => {
    const met = issueTargets([workload(9e6, 1e6, 100)]);
    expect(met.map((t) => t.met)).toEqual([true, true, true, false]); // 111 ns vs C 100 (full) and 50 (node-1)
    const not = issueTargets([workload(2e5, 5e4, 30)]);
    expect(not.map((t) => t.met)).toEqual([false, false, false, false]);
    expect(not[0].measured).toBe('0.200 Mpps');
    expect(not[1].measured).toBe('4.00x');
    // node-1's share of the native time (here 40%: 2000 of 5000 ns) against C's node-1 work (15 ns).
    expect(not[3].measured).toBe("333.3x C's time (5000 vs 15.0 ns/packet; node-1's stage calls alone 2000 ns, 133.3x)");
  });

  it('not met, and says why, without a native engine or a C reference', () => {
    const tsOnly: IssueWorkloadResult = { ...workload(1, 1), engines: [workload(1, 1e5).engines[0]], nativeOverTs: undefined, cNote: 'C reference not run: gcc missing' };
    const t = issueTargets([tsOnly]);
    expect(t.every((x) => !x.met)).toBe(true);
    expect(t[0].measured).toMatch(/not measured/);
  });

  it('renders the workload table, the targets and the per-stage comparison', () => {
    const stages: StageResult[] = [...workloadRows('a', 'a', 'iptables', fakeRun('ts')), ...workloadRows('a', 'a', 'iptables', fakeRun('native'))];
    const r = { issueWorkloads: [workload(2e5, 5e4, 30)], issueTargets: issueTargets([workload(2e5, 5e4, 30)]), stages } as unknown as BenchReport;
    const text = issueLines(r, mdTable).join('\n');
    expect(text).toContain('| (a) native >= 8 Mpps | 0.200 Mpps | NOT met |');
    expect(text).toMatch(/\| nf4-prerouting \| 2\.0 ns \| 2\.0 ns \| 1\.0x \| native \| 100% \|/);
    expect(text).toContain('on, 100% native');
    expect(typeof renderText).toBe('function');
    expect(typeof renderMarkdown).toBe('function');
  });
});

// A real (small) run: the shape of the rows the suite writes, the native dispatcher on for engine native.
describe('issue workloads, real run', () => {
  const engines: ('ts' | 'native')[] = loadNative().ok ? ['ts', 'native'] : ['ts'];
  for (const engine of engines) {
    it(`workload (b) on the ${engine} engine: every packet through, rows for the path's stages`, () => {
      const r = measureWorkload(engine, true, 3000, 1000);
      expect(r.packets).toBe(3000);
      expect(r.batches.reduce((a, b) => a + b.packets, 0)).toBe(3000);
      expect(r.nativeDispatch).toBe(engine === 'native');
      const rows = workloadRows('b', 'b', 'iptables', r);
      expect(rows[0].key).toBe('issue-b/whole');
      for (const s of ['frame-input', 'nf4-prerouting', 'vxlan4-encap', 'vxlan4-decap', 'policy4-ingress', 'nf4-output']) expect(rows.map((x) => x.key)).toContain(`issue-b/${s}`);
      for (const x of rows) {
        expect(x.p50Ns).toBeGreaterThan(0);
        expect(x.p99Ns).toBeGreaterThanOrEqual(x.p50Ns);
        expect(Number.isFinite(x.packetsPerSec)).toBe(true);
      }
      // frame-input sees each frame once; the SYNs (10%) make new entries on node-1
      expect(r.stages.get('frame-input')!.packets).toBe(3000);
      if (engine === 'native') {
        expect(rows.find((x) => x.key === 'issue-b/vxlan4-encap')!.impl).toBe('native');
        expect(rows[0].nativeShare!).toBeGreaterThan(0.5);
      }
    }, 120_000);
  }
});
