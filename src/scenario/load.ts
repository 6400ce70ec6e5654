/** Public entry points: files or texts in, a resolved Cluster (plus warnings) or every problem out. */
import { readFileSync } from 'node:fs';
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
  for (const f of files) {
    if (typeof f !== 'string') {
      sources.push(f);
      continue;
    }
    try {
      sources.push({ name: f, text: readFileSync(f, 'utf8') });
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
  return { ok: false, problems, warnings, error: new ScenarioError(problems) };
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
