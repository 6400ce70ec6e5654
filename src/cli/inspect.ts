import type { Io } from './io.js';

export interface InspectOptions {
  readonly json: boolean;
  readonly count?: number;
}

/** `dpemu inspect` (being written): summary and one line per frame. */
export async function inspectCommand(file: string, o: InspectOptions, io: Io): Promise<number> {
  void o;
  io.err(`dpemu inspect ${file}: not available yet\n`);
  return 1;
}
