/**
 * Timing for benches (never for tests): a warm-up run, then `repeats` timed runs of `fn`, each
 * doing `ops` operations; reports the median and the worst run in ns per operation. CPU time is
 * reported beside wall time so a descheduled run on a shared machine is visible.
 */
export interface Timing {
  readonly medianNs: number;
  readonly worstNs: number;
  readonly cpuMedianNs: number;
}

export function measure(ops: number, repeats: number, fn: () => void): Timing {
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    const t1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    wall.push(Number(t1 - t0) / ops);
    cpu.push(((c1.user + c1.system) * 1000) / ops);
  }
  const mid = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { medianNs: mid(wall), worstNs: Math.max(...wall), cpuMedianNs: mid(cpu) };
}

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  return [head, ...cells].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}
