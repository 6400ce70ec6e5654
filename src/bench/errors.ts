import { DpemuError } from '../util/errors.js';

export type BenchErrorCode = 'BENCH_BASELINE_MISSING' | 'BENCH_BASELINE_UNREADABLE' | 'BENCH_BASELINE_INCOMPATIBLE' | 'BENCH_BAD_OPTION';

/** A baseline that cannot be compared, or a bad bench option; the message says what differs. */
export class BenchError extends DpemuError {
  constructor(code: BenchErrorCode, message: string) {
    super(code, message);
  }
}
