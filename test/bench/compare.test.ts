import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareReports, loadBaseline, normalized, validateBaseline } from '../../src/bench/compare.js';
import { BenchError } from '../../src/bench/errors.js';
import { REPORT_TOOL, SUITE_VERSION } from '../../src/bench/types.js';

const stage = (key: string, p50Ns: number) => ({ key, suite: 's', stage: key, engine: 'ts', model: '-', p50Ns, p99Ns: p50Ns * 2, meanNs: p50Ns, packetsPerSec: 1e9 / p50Ns, packetsPerCall: 1, samples: 10 });
const id = { suiteVersion: SUITE_VERSION, engine: 'ts', mode: 'default' };
const report = (cal: number, stages: ReturnType<typeof stage>[]) => ({ tool: REPORT_TOOL, suiteVersion: SUITE_VERSION, engine: 'ts', mode: 'default', calibrationNs: cal, stages });

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
    expect(c.regressions.map((r) => r.key)).toEqual(['a']);
    expect(c.rows.find((r) => r.key === 'b')!.regressed).toBe(false);
  });

  it('lists keys present on one side only and does not compare them', () => {
    const c = compareReports(report(1, [stage('a', 1), stage('new', 1)]), report(1, [stage('a', 1), stage('gone', 1)]));
    expect(c.onlyBaseline).toEqual(['gone']);
    expect(c.onlyCurrent).toEqual(['new']);
    expect(c.rows.map((r) => r.key)).toEqual(['a']);
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
    const msg = code(() => validateBaseline({ ...report(1, []), suiteVersion: SUITE_VERSION + 1, engine: 'native' }, id));
    expect(msg).toMatch(/^BENCH_BASELINE_INCOMPATIBLE/);
    expect(msg).toContain(`suite version ${SUITE_VERSION + 1} (this run: ${SUITE_VERSION})`);
    expect(msg).toContain('engine native (this run: ts)');
    expect(msg).not.toContain('mode');
    expect(code(() => validateBaseline({ ...report(1, []), mode: 'quick' }, id))).toContain('mode quick (this run: default)');
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
