/** Public entry points: files or texts in, a resolved Cluster (plus warnings) or every problem out. */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { sniffCaptureFormat, sniffCompression } from '../capture/detect.js';
import { ScenarioError, type ScenarioProblem } from './errors.js';
import { parseFiles } from './documents.js';
import { resolve } from './resolve.js';
import type { Cluster } from './model.js';

export type ScenarioResult =
  | { ok: true; cluster: Cluster; warnings: string[] }
  | { ok: false; problems: ScenarioProblem[]; warnings: string[]; error: ScenarioError };

export interface ScenarioSource {
  /** Shown in messages; a path for files. */
  name: string;
  text: string;
}

/**
 * Load one scenario from several files or texts (their documents are merged; order does not matter).
 * Never throws for bad input: a file that cannot be read is a problem like any other.
 */
export function loadScenario(files: ReadonlyArray<string> | ReadonlyArray<ScenarioSource>): ScenarioResult {
  const sources: ScenarioSource[] = [];
  const readProblems: ScenarioProblem[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    if (typeof f !== 'string') {
      sources.push(f);
      continue;
    }
    // The same file twice would define each of its objects twice: one problem says so instead of one per object.
    const key = resolvePath(f);
    const first = seen.get(key);
    if (first !== undefined) {
      readProblems.push({ file: f, doc: 0, path: '', message: `given twice (also as ${first}): give each scenario file once` });
      continue;
    }
    seen.set(key, f);
    try {
      const bytes = readFileSync(f);
      const binary = binaryFileProblem(bytes);
      if (binary !== undefined) readProblems.push({ file: f, doc: 0, path: '', message: binary });
      else sources.push({ name: f, text: bytes.toString('utf8') });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      readProblems.push({ file: f, doc: 0, path: '', message: `expected a readable scenario file: ${why}` });
    }
  }
  const parsed = parseFiles(sources);
  const problems = [...readProblems, ...parsed.problems];
  // Cross-object checks on half-valid input would mostly repeat the same mistake; report stage-1 problems alone.
  if (problems.length > 0) return fail(sortProblems(problems, sources), parsed.warnings);
  const r = resolve(parsed.objects, sources[0]?.name ?? '<none>');
  const warnings = [...parsed.warnings, ...r.warnings];
  if (!r.cluster) return fail(sortProblems(r.problems, sources), warnings);
  r.cluster.warnings = warnings;
  return { ok: true, cluster: r.cluster, warnings };
}

/**
 * A file that is not text at all: YAML never holds a NUL byte, and parsing binary data as YAML gives a list of
 * baffling syntax errors (or a "got" of kilobytes of garbage); one line saying what the file is instead. The
 * capture and compression magics are the capture reader's own (capture/detect.ts).
 */
export function binaryFileProblem(bytes: Uint8Array): string | undefined {
  const capture = sniffCaptureFormat(bytes);
  if (capture !== undefined) return `expected a YAML scenario file, got a ${capture} capture: give it as the capture argument (dpemu replay FILE), not with --scenario`;
  const compression = sniffCompression(bytes);
  if (compression === 'gzip') return 'expected a YAML scenario file, got gzip-compressed: gunzip it first';
  if (compression === 'zstd') return 'expected a YAML scenario file, got zstd-compressed: decompress it first (zstd -d FILE)';
  return bytes.includes(0) ? 'expected a YAML scenario file (text), got binary data (NUL bytes)' : undefined;
}

/** Checks run field by field and kind by kind; present their findings in reading order (file, document, line). */
function sortProblems(problems: ScenarioProblem[], sources: readonly ScenarioSource[]): ScenarioProblem[] {
  const fileIndex = new Map(sources.map((s, i) => [s.name, i]));
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) =>
      (fileIndex.get(a.p.file) ?? -1) - (fileIndex.get(b.p.file) ?? -1) ||
      a.p.doc - b.p.doc ||
      (a.p.line ?? 0) - (b.p.line ?? 0) ||
      a.i - b.i,
    )
    .map((x) => x.p);
}

function fail(problems: ScenarioProblem[], warnings: string[]): ScenarioResult {
  const merged = mergeRepeats(problems);
  return { ok: false, problems: merged, warnings, error: new ScenarioError(merged) };
}

/**
 * One line per distinct problem: the pods a workload makes share its template's location, so one mistake (a pod
 * CIDR too small for `replicas: 600`) was reported once per pod, hundreds of identical lines. The first keeps its
 * place and says how many times it occurred.
 */
function mergeRepeats(problems: readonly ScenarioProblem[]): ScenarioProblem[] {
  // A Map keeps the first occurrence's place.
  const byKey = new Map<string, { p: ScenarioProblem; n: number }>();
  for (const p of problems) {
    const key = `${p.file}\0${p.doc}\0${p.line ?? ''}\0${p.path}\0${p.message}`;
    const seen = byKey.get(key);
    if (seen) seen.n++;
    else byKey.set(key, { p, n: 1 });
  }
  return [...byKey.values()].map(({ p, n }) => (n === 1 ? p : { ...p, message: `${p.message} (${n} times)` }));
}

export function loadScenarioFile(path: string): ScenarioResult {
  return loadScenario([path]);
}

export function loadScenarioText(text: string, name = '<scenario>'): ScenarioResult {
  return loadScenario([{ name, text }]);
}

/** For callers that want an exception: returns the Cluster or throws a ScenarioError listing every problem. */
export function loadScenarioOrThrow(files: ReadonlyArray<string> | ReadonlyArray<ScenarioSource>): Cluster {
  const r = loadScenario(files);
  if (!r.ok) throw r.error;
  return r.cluster;
}
