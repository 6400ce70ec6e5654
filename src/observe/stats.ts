import { dropReasonInfo } from '../engine/drop-reasons.js';
import type { RuntimeRow } from '../engine/engine.js';

function table(head: string[], rows: string[][], right: boolean[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => r.map((c, i) => (right[i] ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n');
}

/**
 * `show runtime`, per node: calls, packets (VPP's "vectors"), packets per call, and ns per packet
 * measured around each stage's process() call; the engine column says which engine ran the stage
 * (per row: `native`, `ts`, or `native+ts` when the fast path handed some packets to TypeScript).
 * `engine` only labels rows that do not say (older callers).
 */
export function formatRuntime(rows: readonly RuntimeRow[], engine = 'ts'): string {
  const out: string[] = [];
  for (const node of [...new Set(rows.map((r) => r.node))]) {
    const mine = rows.filter((r) => r.node === node);
    out.push(`Node ${node}`);
    out.push(
      table(
        ['Stage', 'Engine', 'Calls', 'Packets', 'Packets/Call', 'ns/Packet', 'Drops'],
        mine.map((r) => [
          r.stage,
          r.engine ?? engine,
          String(r.calls),
          String(r.packets),
          (r.packets / r.calls).toFixed(2),
          (r.ns / Math.max(1, r.packets)).toFixed(1),
          String(r.drops.reduce((a, d) => a + d.count, 0)),
        ]),
        [false, false, true, true, true, true, true],
      ),
    );
    out.push('');
  }
  return out.join('\n');
}

/** `show errors`: every drop counted, by node, stage and reason. */
export function formatErrors(rows: readonly RuntimeRow[]): string {
  const lines: string[][] = [];
  for (const r of rows) for (const d of r.drops) {
    const info = dropReasonInfo(d.code);
    lines.push([String(d.count), r.node, r.stage, `${info.name} (${info.code})`, info.text]);
  }
  if (lines.length === 0) return 'No drops.';
  return table(['Count', 'Node', 'Stage', 'Reason', 'Text'], lines, [true, false, false, false, false]);
}
