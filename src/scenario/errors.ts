import { DpemuError } from '../util/errors.js';

/** One thing wrong with a scenario, located well enough that a student can fix it without guessing. */
export interface ScenarioProblem {
  file: string;
  /** 1-based index of the YAML document inside the file; 0 when the problem is about the scenario as a whole. */
  doc: number;
  /** 1-based YAML line, when the yaml parser could place it. */
  line?: number;
  /** Dotted field path inside the document, e.g. `spec.nodes[1].podCIDR`; empty for whole-document problems. */
  path: string;
  /** What was expected and what was found. */
  message: string;
}

export function formatProblem(p: ScenarioProblem): string {
  const where = p.doc > 0 ? `${p.file}:doc ${p.doc}` : p.file;
  const line = p.line !== undefined ? ` (line ${p.line})` : '';
  const path = p.path ? ` ${p.path}:` : '';
  return `${where}${line}:${path} ${p.message}`;
}

/** Thrown by the `*OrThrow` entry points; carries every problem found, not just the first. */
export class ScenarioError extends DpemuError {
  readonly problems: readonly ScenarioProblem[];
  constructor(problems: readonly ScenarioProblem[]) {
    const n = problems.length;
    super(
      'SCENARIO_INVALID',
      `scenario has ${n} problem${n === 1 ? '' : 's'}:\n` + problems.map((p) => '  ' + formatProblem(p)).join('\n'),
    );
    this.problems = problems;
  }
}
