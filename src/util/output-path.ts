/**
 * Output paths checked before a command spends its run (a replay, a bench suite) and then fails to write.
 * Directories are made one level at a time: Node 20's mkdirSync(recursive) never returns under /proc.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The existing part of `path`'s ancestry: the nearest existing ancestor and the levels to create below it. */
function split(path: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      statSync(p);
      return { existing: p, missing };
    } catch {
      const up = dirname(p);
      if (up === p) return { existing: p, missing };
      missing.unshift(p);
      p = up;
    }
  }
}

function writableDir(p: string): string | undefined {
  if (!statSync(p).isDirectory()) return `${p} is not a directory`;
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch {
    return `${p} is not writable`;
  }
  return undefined;
}

/** Why `dir` cannot hold output files (it or its nearest existing ancestor is not a writable directory), or undefined. */
export function outputDirProblem(dir: string): string | undefined {
  return writableDir(split(dir).existing);
}

/** Why `file` cannot be written (an existing directory, or no writable directory to put it in), or undefined. */
export function outputFileProblem(file: string): string | undefined {
  const abs = resolve(file);
  try {
    if (statSync(abs).isDirectory()) return `${abs} is a directory`;
    accessSync(abs, constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return `${abs} is not writable`;
  }
  return outputDirProblem(dirname(abs));
}

/** Makes `dir` (mkdir -p) and says why it could not, or undefined when it is ready for output files. */
export function prepareOutputDir(dir: string): string | undefined {
  const problem = outputDirProblem(dir);
  if (problem !== undefined) return problem;
  try {
    makeDir(dir);
  } catch (e) {
    return `cannot create it (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  return undefined;
}

/** mkdir -p, a level at a time (see the top of the file). */
export function makeDir(dir: string): void {
  const { missing } = split(dir);
  for (const p of missing) mkdirSync(p);
}
