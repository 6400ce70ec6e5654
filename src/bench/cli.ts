/** `dpemu bench`: the default suite with a progress bar on stderr (delegates to main.ts). */
import type { Io } from '../cli/io.js';
import { benchMain, parseBenchArgs } from './main.js';

export function progressBar(done: number, total: number, label: string, width = 30): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${String(Math.round(f * 100)).padStart(3)}% ${label}`;
}

export async function benchCommand(o: Record<string, unknown>, io: Io): Promise<number> {
  const argv: string[] = [];
  if (o.quick) argv.push('--quick');
  if (o.kernel === false) argv.push('--no-kernel');
  if (o.rerun === false) argv.push('--no-rerun');
  if (o.docs) argv.push('--docs');
  for (const k of ['json', 'compare', 'threshold'] as const) if (o[k] !== undefined) argv.push(`--${k}`, String(o[k]));
  const opts = parseBenchArgs(argv);
  const tty = io.errIsTty;
  return benchMain(opts, { out: (s) => io.out(s), err: (s) => io.err(s) }, (done, total, label) => {
    io.err(tty ? `\r\x1b[K${progressBar(done, total, label)}${done === total ? '\n' : ''}` : `${progressBar(done, total, label)}\n`);
  });
}
