import { DpemuError } from '../util/errors.js';

/** Where a command writes: stdout for results, stderr for notices and errors (tests capture both). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress lines are shown only then). */
  readonly errIsTty: boolean;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  errIsTty: Boolean(process.stderr.isTTY),
};

/**
 * A capture damaged part way, after the command wrote its outputs for the good frames: the error names the
 * byte offset; exit 1 (a runtime failure, as `dpemu inspect` gives for the same file). Anything else is rethrown.
 */
export function damagedCapture(error: unknown, io: Io): number {
  if (!(error instanceof DpemuError)) throw error;
  io.err(`dpemu: ${error.message}\n`);
  return 1;
}
