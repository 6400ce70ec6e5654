import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareReports, confirmRegressions, loadBaseline, normalized, validateBaseline } from '../../src/bench/compare.js';
import { benchMain, parseBenchArgs } from '../../src/bench/main.js';
import { availableEngines } from '../../src/bench/pipeline.js';
import { BenchError } from '../../src/bench/errors.js';
import { REPORT_TOOL, SUITE_VERSION, type BenchReport } from '../../src/bench/types.js';

const stage = (key: string, p50Ns: number) => ({ key, suite: 's', stage: key, engine: 'ts', model: '-', p50Ns, p99Ns: p50Ns * 2, meanNs: p50Ns, packetsPerSec: 1e9 / p50Ns, packetsPerCall: 1, samples: 10 });
const id = { suiteVersion: SUITE_VERSION, engines: ['ts'], mode: 'default' };
const report = (cal: number, stages: ReturnType<typeof stage>[]) => ({ tool: REPORT_TOOL, suiteVersion: SUITE_VERSION, engine: 'ts', engines: ['ts'], mode: 'default', calibrationNs: cal, stages });

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof BenchError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

describe('compareReports', () => {
  it('normalizes by each run\'s calibration loop, so a uniformly slower machine is no regression', () => {
    const base = report(2, [stage('a', 100), stage('b', 50)]);
    const cur = report(4, [stage('a', 200), stage('b', 100)]);
    const c = compareReports(cur, base, 0.5);
    expect(c.rows.map((r) => r.ratio)).toEqual([1, 1]);
    expect(c.regressions).toEqual([]);
  });

  it('flags a stage slower beyond the threshold and only that one', () => {
    const c = compareReports(report(2, [stage('a', 151), stage('b', 149)]), report(2, [stage('a', 100), stage('b', 100)]), 0.5);
    expect(c.regressions.map((r) => r.key)).toEqual(['a [ts]']);
    expect(c.rows.find((r) => r.key === 'b [ts]')!.regressed).toBe(false);
  });

  it('lists keys present on one side only and does not compare them', () => {
    const c = compareReports(report(1, [stage('a', 1), stage('new', 1)]), report(1, [stage('a', 1), stage('gone', 1)]));
    expect(c.onlyBaseline).toEqual(['gone [ts]']);
    expect(c.onlyCurrent).toEqual(['new [ts]']);
    expect(c.rows.map((r) => r.key)).toEqual(['a [ts]']);
  });

  it('treats the engine as part of a row\'s identity: the same key in ts and native are two rows', () => {
    const native = (key: string, p50Ns: number) => ({ ...stage(key, p50Ns), engine: 'native' });
    const base = report(1, [stage('pipeline/whole', 100), native('pipeline/whole', 10)]);
    // native got 3x slower, ts did not: only the native row regresses, and neither is compared with the other.
    const c = compareReports(report(1, [stage('pipeline/whole', 100), native('pipeline/whole', 30)]), base, 0.5);
    expect(c.rows.map((r) => [r.key, r.ratio])).toEqual([['pipeline/whole [ts]', 1], ['pipeline/whole [native]', 3]]);
    expect(c.regressions.map((r) => r.key)).toEqual(['pipeline/whole [native]']);
    const onlyTs = compareReports(report(1, [stage('x', 1)]), report(1, [native('x', 1)]));
    expect(onlyTs.rows).toEqual([]);
    expect(onlyTs.onlyBaseline).toEqual(['x [native]']);
  });

  it('refuses a negative threshold', () => {
    expect(code(() => compareReports(report(1, []), report(1, []), -1))).toMatch(/^BENCH_BAD_OPTION/);
  });

  it('normalized() is p50 in calibration iterations', () => {
    expect(normalized({ p50Ns: 30 }, 3)).toBe(10);
  });
});

describe('baseline validation', () => {
  it('accepts a compatible baseline', () => {
    expect(validateBaseline(report(1, [stage('a', 1)]), id).stages).toHaveLength(1);
  });

  it('says which of suite version, engine and mode differ', () => {
    const msg = code(() => validateBaseline({ ...report(1, []), suiteVersion: SUITE_VERSION + 1, engine: 'native', engines: ['native'] }, id));
    expect(msg).toMatch(/^BENCH_BASELINE_INCOMPATIBLE/);
    expect(msg).toContain(`suite version ${SUITE_VERSION + 1} (this run: ${SUITE_VERSION})`);
    expect(msg).toContain('engines native (this run: ts)');
    expect(msg).not.toContain('mode');
    expect(code(() => validateBaseline({ ...report(1, []), mode: 'quick' }, id))).toContain('mode quick (this run: default)');
  });

  it('refuses a baseline from another engine set, and says how to get a comparable one', () => {
    const both = { ...id, engines: ['native', 'ts'] };
    const withoutNative = code(() => validateBaseline(report(1, []), both));
    expect(withoutNative).toMatch(/^BENCH_BASELINE_INCOMPATIBLE/);
    expect(withoutNative).toContain('engines ts (this run: native+ts)');
    expect(withoutNative).toContain('saved without the native addon');
    const withNative = code(() => validateBaseline({ ...report(1, []), engine: 'ts+native', engines: ['ts', 'native'] }, id));
    expect(withNative).toContain('engines native+ts (this run: ts)');
    expect(withNative).toContain('npm run build:native');
    // Order of the set does not matter.
    expect(validateBaseline({ ...report(1, []), engines: ['ts', 'native'] }, { ...id, engines: ['native', 'ts'] }).engines).toEqual(['ts', 'native']);
  });

  it('refuses a v1 baseline (engine-less row identities) with what changed', () => {
    const v1 = { tool: REPORT_TOOL, suiteVersion: 1, engine: 'ts', mode: 'default', calibrationNs: 1, stages: [] };
    const msg = code(() => validateBaseline(v1, id));
    expect(msg).toMatch(/^BENCH_BASELINE_INCOMPATIBLE/);
    expect(msg).toContain(`suite version 1 (this run: ${SUITE_VERSION})`);
    expect(msg).toContain('engine part of every row');
    expect(msg).not.toContain('engines ts (');
  });

  it('refuses something that is not a bench result, or lacks calibration or stages', () => {
    expect(code(() => validateBaseline([1, 2], id))).toMatch(/^BENCH_BASELINE_INCOMPATIBLE.*not a dpemu bench result/);
    expect(code(() => validateBaseline({ ...report(1, []), calibrationNs: 0 }, id))).toMatch(/^BENCH_BASELINE_UNREADABLE.*calibrationNs/);
    expect(code(() => validateBaseline({ ...report(1, []), stages: [{ key: 'a', p50Ns: -1 }] }, id))).toMatch(/^BENCH_BASELINE_UNREADABLE.*stages/);
  });

  it('distinguishes a missing file from one that is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-bench-test-'));
    expect(code(() => loadBaseline(join(dir, 'nope.json'), id))).toMatch(/^BENCH_BASELINE_MISSING/);
    writeFileSync(join(dir, 'bad.json'), '{not json');
    expect(code(() => loadBaseline(join(dir, 'bad.json'), id))).toMatch(/^BENCH_BASELINE_UNREADABLE.*not JSON/);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(report(1, [stage('a', 5)])));
    expect(loadBaseline(join(dir, 'ok.json'), id).calibrationNs).toBe(1);
  });
});

describe('confirmRegressions (best of two runs)', () => {
  it('keeps a row regressed only when both runs were slower, with the lower ratio, and lists the rest as noise', () => {
    const base = report(2, [stage('steady', 100), stage('spike', 20), stage('real', 50)]);
    const first = compareReports(report(2, [stage('steady', 110), stage('spike', 60), stage('real', 200)]), base);
    expect(first.regressions.map((r) => r.key)).toEqual(['spike [ts]', 'real [ts]']);
    const second = compareReports(report(4, [stage('steady', 260), stage('spike', 44), stage('real', 180)]), base);
    const c = confirmRegressions(first, second);
    expect(c.runs).toBe(2);
    // steady: 1.1 then 1.3 (a slower machine the calibration did not fully absorb); spike: 3 then 1.1; real: 4 then 1.8.
    expect(c.rows.map((r) => [r.key, Number(r.ratio.toFixed(6))])).toEqual([['steady [ts]', 1.1], ['spike [ts]', 1.1], ['real [ts]', 1.8]]);
    expect(c.regressions).toEqual([]);
    expect(c.noise).toEqual(['spike [ts]', 'real [ts]']);
    // A row slower in both runs stays a regression.
    const both = confirmRegressions(first, compareReports(report(2, [stage('steady', 100), stage('spike', 20), stage('real', 250)]), base));
    expect(both.regressions.map((r) => [r.key, r.ratio])).toEqual([['real [ts]', 4]]);
    expect(both.noise).toEqual(['spike [ts]']);
  });
});

describe('benchMain --compare', () => {
  const engines = availableEngines().engines;
  const full = (cal: number, rows: ReturnType<typeof stage>[]): BenchReport => ({
    ...report(cal, rows), tool: REPORT_TOOL, mode: 'quick', engine: engines.join('+'), engines, date: 'd', node: 'n', cpu: 'c', cores: 1,
    peakRssBytes: 0, scaling: [], cpuAtRate: [], kernelPeer: { ran: false, note: 'not run', rows: [] }, benny: [], gaps: [], data: [],
  });
  function setup(runs: BenchReport[], extra: string[] = []) {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-bench-main-'));
    const file = join(dir, 'base.json');
    writeFileSync(file, JSON.stringify(full(1, [stage('a', 10), stage('b', 100)])));
    const out: string[] = [];
    let calls = 0;
    const suite = async (): Promise<BenchReport> => runs[calls++];
    const run = () => benchMain(parseBenchArgs(['--quick', '--compare', file, ...extra]), { out: (s) => out.push(s), err: () => {} }, () => {}, suite);
    return { run, out, calls: () => calls };
  }

  it('runs the suite again when a row is flagged, and a row slower in one run only is noise (exit 0)', async () => {
    const t = setup([full(1, [stage('a', 35), stage('b', 100)]), full(1, [stage('a', 11), stage('b', 100)])]);
    expect(await t.run()).toBe(0);
    expect(t.calls()).toBe(2);
    const text = t.out.join('');
    expect(text).toContain('running the suite again');
    expect(text).toContain('best of 2 runs');
    expect(text).toContain('slower in the first run only (noise, not counted): a [ts]');
    expect(text).toContain('no stage slower beyond the threshold');
  });

  it('fails (exit 1) when the second run confirms the row', async () => {
    const t = setup([full(1, [stage('a', 35), stage('b', 100)]), full(1, [stage('a', 30), stage('b', 100)])]);
    expect(await t.run()).toBe(1);
    expect(t.out.join('')).toContain('1 stage(s) slower beyond the threshold');
  });

  it('runs once when nothing is flagged, and once with --no-rerun', async () => {
    const quiet = setup([full(1, [stage('a', 12), stage('b', 100)])]);
    expect(await quiet.run()).toBe(0);
    expect(quiet.calls()).toBe(1);
    const once = setup([full(1, [stage('a', 35), stage('b', 100)])], ['--no-rerun']);
    expect(await once.run()).toBe(1);
    expect(once.calls()).toBe(1);
    expect(once.out.join('')).not.toContain('best of');
    expect(() => parseBenchArgs(['--no-rerun'])).toThrow(/--no-rerun applies to --compare/);
  });
});
