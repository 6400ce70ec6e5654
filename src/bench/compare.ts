/**
 * Regression check against a saved run. Raw ns are not comparable across runs (another machine, another
 * load), so each p50 is first divided by the calibration loop's ns measured in the same run; the compared
 * figure is the ratio of those normalized values: current / baseline. A stage regresses when that ratio is
 * above 1 + threshold. A row's identity is its key and its engine (the same stage in the ts and the native
 * engine are two rows). Baselines of another suite version, engine set or mode are refused with what differs.
 * A flagged run is confirmed by a second one (confirmRegressions, benchMain).
 */
import { readFileSync } from 'node:fs';
import { BenchError } from './errors.js';
import { REPORT_TOOL, SUITE_CHANGES, type BenchReport, type StageResult } from './types.js';

/**
 * Default threshold: 100% slower (2x) after normalization. Two back-to-back default runs on the 2-core shared VM
 * moved normalized p50s by 0.60-1.43x (p5-p95 of 212 rows) and up to 2.2x on a few sub-50 ns native rows;
 * 0.5 flagged 9 rows of pure noise, 1.0 two (docs/benchmarks.md, "Regression threshold and noise").
 */
export const DEFAULT_THRESHOLD = 1.0;

export interface CompareRow {
  /** rowId(): `<key> [<engine>]`. */
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
  /** How many runs each ratio is the best of (confirmRegressions: 2). */
  readonly runs: number;
  /** Rows the first run flagged that the second did not confirm: noise, not regressions. */
  readonly noise: readonly string[];
}

export interface RunIdentity {
  readonly suiteVersion: number;
  /** Engines the run measures (order does not matter). */
  readonly engines: readonly string[];
  readonly mode: string;
}

/** A row's identity for --compare: the same key measured by another engine is another row. */
export function rowId(s: Pick<StageResult, 'key' | 'engine'>): string {
  return `${s.key} [${s.engine}]`;
}

const engineSet = (e: readonly string[]): string => [...e].sort().join('+');

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStage(v: unknown): v is StageResult {
  return isObj(v) && typeof v.key === 'string' && typeof v.engine === 'string' && typeof v.p50Ns === 'number' && Number.isFinite(v.p50Ns) && v.p50Ns > 0;
}

/** Checks a parsed baseline against the current run; throws BenchError saying what differs. */
export function validateBaseline(raw: unknown, current: RunIdentity, source = 'baseline'): BenchReport {
  if (!isObj(raw) || raw.tool !== REPORT_TOOL) {
    throw new BenchError('BENCH_BASELINE_INCOMPATIBLE', `${source} is not a dpemu bench result (expected "tool": "${REPORT_TOOL}"); write one with npm run bench -- --json <file>`);
  }
  const diffs: string[] = [];
  const hints: string[] = [];
  if (raw.suiteVersion !== current.suiteVersion) {
    diffs.push(`suite version ${String(raw.suiteVersion)} (this run: ${current.suiteVersion})`);
    // Every change since the baseline's version (a v1 baseline gets what v2 and v3 changed).
    if (typeof raw.suiteVersion === 'number' && raw.suiteVersion < current.suiteVersion) {
      for (let v = raw.suiteVersion + 1; v <= current.suiteVersion; v++) if (SUITE_CHANGES[v]) hints.push(SUITE_CHANGES[v]);
    }
  }
  // v1 reports have only `engine` (always 'ts'); later ones list the set in `engines`.
  const rawEngines = Array.isArray(raw.engines) ? raw.engines.map(String) : typeof raw.engine === 'string' ? raw.engine.split('+') : [];
  if (engineSet(rawEngines) !== engineSet(current.engines)) {
    diffs.push(`engines ${engineSet(rawEngines) || '(none)'} (this run: ${engineSet(current.engines)})`);
    hints.push(current.engines.includes('native') && !rawEngines.includes('native')
      ? 'the baseline was saved without the native addon: save a new baseline now that it loads'
      : 'the native addon loads in one run and not the other (npm run build:native, or DPEMU_NATIVE_PATH): build it, or save a baseline with the engines this run has');
  }
  if (raw.mode !== current.mode) diffs.push(`mode ${String(raw.mode)} (this run: ${current.mode})`);
  if (diffs.length > 0) {
    throw new BenchError('BENCH_BASELINE_INCOMPATIBLE', `${source} cannot be compared with this run: it has ${diffs.join(', ')}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}; save a new baseline with this suite (npm run bench -- --json <file>)`);
  }
  const cal = raw.calibrationNs;
  if (typeof cal !== 'number' || !Number.isFinite(cal) || cal <= 0) {
    throw new BenchError('BENCH_BASELINE_UNREADABLE', `${source} has no valid calibrationNs (got ${JSON.stringify(cal)}), so its times cannot be normalized`);
  }
  if (!Array.isArray(raw.stages) || !raw.stages.every(isStage)) {
    throw new BenchError('BENCH_BASELINE_UNREADABLE', `${source} has no valid "stages" list (each needs a key, an engine and a positive p50Ns)`);
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
  const base = new Map(baseline.stages.map((s) => [rowId(s), s]));
  const cur = new Map(current.stages.map((s) => [rowId(s), s]));
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
    runs: 1,
    noise: [],
  };
}

/**
 * Best of two runs against one baseline. Noise on a loaded machine only ever adds time, so a row's lower
 * ratio of the two is the better estimate, and a row regresses only when both runs were slower beyond the
 * threshold. Rows the first run flagged and the second did not are listed as noise.
 */
export function confirmRegressions(first: Comparison, second: Comparison): Comparison {
  const again = new Map(second.rows.map((r) => [r.key, r.ratio]));
  const rows = first.rows.map((r) => {
    const ratio = Math.min(r.ratio, again.get(r.key) ?? r.ratio);
    return { key: r.key, ratio, regressed: ratio > 1 + first.threshold };
  });
  const regressed = new Set(rows.filter((r) => r.regressed).map((r) => r.key));
  return {
    ...first,
    rows,
    regressions: rows.filter((r) => r.regressed),
    runs: 2,
    noise: first.regressions.map((r) => r.key).filter((k) => !regressed.has(k)),
  };
}
