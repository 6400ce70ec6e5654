/**
 * Regression check against a saved run. Raw ns are not comparable across runs (another machine, another
 * load), so each p50 is first divided by the calibration loop's ns measured in the same run; the compared
 * figure is the ratio of those normalized values: current / baseline. A stage regresses when that ratio is
 * above 1 + threshold. Baselines of another suite version, engine or mode are refused with what differs.
 */
import { readFileSync } from 'node:fs';
import { BenchError } from './errors.js';
import { REPORT_TOOL, SUITE_VERSION, type BenchReport, type StageResult } from './types.js';

/** Default threshold: 50% slower after normalization (see docs/benchmarks.md for the noise behind it). */
export const DEFAULT_THRESHOLD = 0.5;

export interface CompareRow {
  readonly key: string;
  /** (current p50 / current calibration) / (baseline p50 / baseline calibration). */
  readonly ratio: number;
  readonly regressed: boolean;
}

export interface Comparison {
  readonly threshold: number;
  readonly rows: readonly CompareRow[];
  readonly regressions: readonly CompareRow[];
  /** Keys only in the baseline, or only in the current run (not compared). */
  readonly onlyBaseline: readonly string[];
  readonly onlyCurrent: readonly string[];
}

export interface RunIdentity {
  readonly suiteVersion: number;
  readonly engine: string;
  readonly mode: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStage(v: unknown): v is StageResult {
  return isObj(v) && typeof v.key === 'string' && typeof v.p50Ns === 'number' && Number.isFinite(v.p50Ns) && v.p50Ns > 0;
}

/** Checks a parsed baseline against the current run; throws BenchError saying what differs. */
export function validateBaseline(raw: unknown, current: RunIdentity, source = 'baseline'): BenchReport {
  if (!isObj(raw) || raw.tool !== REPORT_TOOL) {
    throw new BenchError('BENCH_BASELINE_INCOMPATIBLE', `${source} is not a dpemu bench result (expected "tool": "${REPORT_TOOL}"); write one with npm run bench -- --json <file>`);
  }
  const diffs: string[] = [];
  if (raw.suiteVersion !== current.suiteVersion) diffs.push(`suite version ${String(raw.suiteVersion)} (this run: ${current.suiteVersion})`);
  if (raw.engine !== current.engine) diffs.push(`engine ${String(raw.engine)} (this run: ${current.engine})`);
  if (raw.mode !== current.mode) diffs.push(`mode ${String(raw.mode)} (this run: ${current.mode})`);
  if (diffs.length > 0) throw new BenchError('BENCH_BASELINE_INCOMPATIBLE', `${source} cannot be compared with this run: it has ${diffs.join(', ')}; save a new baseline with this suite`);
  const cal = raw.calibrationNs;
  if (typeof cal !== 'number' || !Number.isFinite(cal) || cal <= 0) {
    throw new BenchError('BENCH_BASELINE_UNREADABLE', `${source} has no valid calibrationNs (got ${JSON.stringify(cal)}), so its times cannot be normalized`);
  }
  if (!Array.isArray(raw.stages) || !raw.stages.every(isStage)) {
    throw new BenchError('BENCH_BASELINE_UNREADABLE', `${source} has no valid "stages" list (each needs a key and a positive p50Ns)`);
  }
  return raw as unknown as BenchReport;
}

/** Reads and validates a baseline file: missing, unreadable (not JSON) and incompatible are distinct errors. */
export function loadBaseline(path: string, current: RunIdentity): BenchReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BenchError('BENCH_BASELINE_MISSING', `baseline ${path} does not exist; write one with npm run bench -- --json ${path}`);
    throw new BenchError('BENCH_BASELINE_UNREADABLE', `baseline ${path} cannot be read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BenchError('BENCH_BASELINE_UNREADABLE', `baseline ${path} is not JSON: ${(e as Error).message}`);
  }
  return validateBaseline(raw, current, `baseline ${path}`);
}

/** Normalized p50: how many calibration-loop iterations one packet (operation) costs. */
export function normalized(s: { p50Ns: number }, calibrationNs: number): number {
  return s.p50Ns / calibrationNs;
}

export function compareReports(
  current: Pick<BenchReport, 'stages' | 'calibrationNs'>,
  baseline: Pick<BenchReport, 'stages' | 'calibrationNs'>,
  threshold = DEFAULT_THRESHOLD,
): Comparison {
  if (!(threshold >= 0)) throw new BenchError('BENCH_BAD_OPTION', `threshold must be a number >= 0, got ${threshold}`);
  const base = new Map(baseline.stages.map((s) => [s.key, s]));
  const cur = new Map(current.stages.map((s) => [s.key, s]));
  const rows: CompareRow[] = [];
  for (const [key, s] of cur) {
    const b = base.get(key);
    if (!b) continue;
    const ratio = normalized(s, current.calibrationNs) / normalized(b, baseline.calibrationNs);
    rows.push({ key, ratio, regressed: ratio > 1 + threshold });
  }
  return {
    threshold,
    rows,
    regressions: rows.filter((r) => r.regressed),
    onlyBaseline: [...base.keys()].filter((k) => !cur.has(k)),
    onlyCurrent: [...cur.keys()].filter((k) => !base.has(k)),
  };
}
