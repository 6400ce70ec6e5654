/**
 * UDP and ICMP conntrack against the real kernel: the conversations of fixtures/tcp-window/udp-icmp-* (gen-udp-icmp.ts;
 * run.sh injected every frame into a 6.18 kernel's conntrack, FORWARD dropping ctstate INVALID, and recorded the
 * table after each frame). Each frame goes through the stages' conntrackIn (so an ICMP error finds the entry it
 * quotes, RELATED, as in the pipeline), is confirmed if it passed, and then dpemu's `conntrack -L` must equal the
 * kernel's (timeouts within a second), at the kernel's own send and listing times.
 * udp-icmp-seed-*: one table per case, the whole table compared. udp-icmp-gaps-seed-* (--gaps, `timed`): one table
 * and one ~50 s schedule for all cases, with real gaps across UDP's 2 s stream_ts; the case's own entries compared.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pcapFrames } from '../helpers/capture-files.js';
import { ConntrackTable } from '../../src/conntrack/index.js';
import { formatConntrackList } from '../../src/conntrack/format.js';
import type { PacketPool } from '../../src/engine/pool.js';
import type { StageRuntime } from '../../src/engine/runtime.js';
import type { NodeContext } from '../../src/dataplane/node-context.js';
import { KERNEL_CT_TIMEOUTS } from '../../src/scenario/defaults.js';
import { conntrackIn, CTINFO_UNTRACKED } from '../../src/stages/netfilter-common.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'tcp-window');
// DPEMU_UDP_ICMP_DIR: one more set (gen-udp-icmp.ts, then run.sh dir), checked with the committed ones.
const SETS = [
  ...readdirSync(ROOT).filter((d) => d.startsWith('udp-icmp-')).sort().map((d) => join(ROOT, d)),
  ...(process.env.DPEMU_UDP_ICMP_DIR ? [process.env.DPEMU_UDP_ICMP_DIR] : []),
];

/** timed: one schedule (gen-udp-icmp.ts --gaps); then each case has the token its entries carry, each packet its pcap index. */
interface Meta { timed?: boolean; cases: { name: string; key?: string; packets: { dir: 0 | 1; what: string; frame?: number }[] }[] }
/** tx / listed: seconds to this frame's send and to the conntrack -L after it, from the case's first send (timed: the set's). */
interface KernelRow { forwarded: boolean; entries: string[]; tx: number; listed: number }

/** A line without `use=`, and the same with its timeout replaced (for order and equality). */
const clean = (l: string): string => l.split(/\s+/).filter((x) => !x.startsWith('use=')).join(' ');
const shape = (l: string): string => l.replace(/^(\S+\s+\d+\s+)\d+/, '$1T');
const timeoutOf = (l: string): number => Number(/^\S+\s+\d+\s+(\d+)/.exec(l)?.[1] ?? -1);
const byShape = (a: string, b: string): number => (shape(a) < shape(b) ? -1 : shape(a) > shape(b) ? 1 : 0);

/** The one slot conntrackIn reads and writes, and the runtime fields it uses (tracing off). */
function oneSlot(f: Uint8Array): PacketPool {
  return {
    bufs: [f], l3: Int32Array.of(14), l4: Int32Array.of(14 + (f[14]! & 0x0f) * 4), start: Int32Array.of(0), len: Int32Array.of(f.length),
    ct: new Int32Array(1), ctinfo: new Uint8Array(1),
  } as unknown as PacketPool;
}

describe.each(SETS.map((d) => [d.slice(d.lastIndexOf('/') + 1), d]))('UDP and ICMP conntrack agree with the kernel (fixtures/tcp-window/%s)', (_name, dir) => {
  const meta = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Meta;
  const all = pcapFrames(join(dir, 'cases.pcap'));
  const kernel = new Map<string, KernelRow>();
  for (const line of readFileSync(join(dir, 'kernel.tsv'), 'utf8').trim().split('\n').slice(1)) {
    const cols = line.split('\t');
    kernel.set(`${cols[0]}/${cols[1]}`, { forwarded: cols[2] === '1', entries: cols[8] === '-' ? [] : cols[8]!.split(' || '), tx: Number(cols[6]), listed: Number(cols[7]) });
  }
  const row = (c: string, k: number): KernelRow => kernel.get(`${c}/${k}`)!;

  it('every frame: passed or dropped, then the table (a timed set: the case\'s entries)', () => {
    expect(kernel.size).toBe(all.length);
    // The frames in the order the kernel saw them: a timed set's by pcap index on one table, else case by case.
    const runs = meta.timed
      ? [meta.cases.flatMap((c) => c.packets.map((p, k) => ({ c, k, p }))).sort((a, b) => a.p.frame! - b.p.frame!)]
      : meta.cases.map((c) => c.packets.map((p, k) => ({ c, k, p })));
    const problems: string[] = [];
    const bad = new Set<string>();
    let i = 0;
    let dropped = 0;
    for (const run of runs) {
      const t = new ConntrackTable(meta.timed ? 1024 : 64, KERNEL_CT_TIMEOUTS);
      for (const { c, k, p } of run) {
        const want = row(c.name, k);
        // The kernel's own send and listing times: its timeouts, and UDP's stream_ts, ran on that wall time.
        const now = 1 + want.tx;
        const pool = oneSlot(all[p.frame ?? i]!);
        i++;
        const rt = { ctx: { conntrack: t }, now, tracing: false } as unknown as StageRuntime<NodeContext>;
        conntrackIn(rt, pool, 0, 0);
        const forwarded = pool.ctinfo[0] !== CTINFO_UNTRACKED;
        const n = pool.ct[0]!;
        if (forwarded && n >= 0 && t.isLive(n >> 1) && !t.isConfirmed(n >> 1)) t.confirm(n >> 1, now);
        if (!want.forwarded) dropped++;
        if (bad.has(c.name)) continue; // the first divergence of a case only
        const lines = formatConntrackList(t, 1 + want.listed).map(clean);
        const mine = (c.key ? lines.filter((l) => l.split(' ').includes(c.key!)) : lines).sort(byShape);
        const theirs = [...want.entries].sort(byShape);
        const same = forwarded === want.forwarded && mine.length === theirs.length &&
          mine.every((l, j) => shape(l) === shape(theirs[j]!) && Math.abs(timeoutOf(l) - timeoutOf(theirs[j]!)) <= 1);
        if (!same) {
          bad.add(c.name);
          problems.push(`${c.name} #${k} ${p.what} (tx ${want.tx.toFixed(3)}): kernel ${want.forwarded ? 'passed' : 'dropped'} [${theirs.join(' | ')}], dpemu ${forwarded ? 'passed' : 'dropped'} [${mine.join(' | ')}]`);
        }
      }
    }
    expect(problems.slice(0, 20).join('\n')).toBe('');
    // The set exercises both outcomes: unmatched ICMP replies and errors about nothing are INVALID.
    expect(dropped).toBeGreaterThan(meta.timed ? 0 : 50);
  });

  // Only a timed set has a schedule to check (registered only there: a skipped test would prove nothing).
  if (meta.timed) it('the timed set is unambiguous about stream_ts and exercises both sides of it', () => {
    // stream_ts is the creating frame's jiffies + 2 s (HZ 250 here); every UDP frame was sent well away from it.
    const offBoundary: string[] = [];
    let before = 0, after = 0, lateReply = 0;
    for (const c of meta.cases) {
      if (!c.key!.startsWith('sport=')) continue;
      const t0 = row(c.name, 0).tx;
      c.packets.forEach((p, k) => {
        const at = row(c.name, k).tx - t0;
        if (Math.abs(at - 2) < 0.1) offBoundary.push(`${c.name} #${k} sent at +${at.toFixed(3)} s`);
        const e = row(c.name, k).entries[0] ?? '';
        const replied = e !== '' && !e.includes('[UNREPLIED]');
        if (replied && e.includes('[ASSURED]') && timeoutOf(e) >= 118) after++;
        else if (replied && at < 2 && k > 1) before++;
        else if (replied && at > 2) lateReply++;
      });
    }
    expect(offBoundary).toEqual([]);
    // In the kernel's rows: stream refreshes (120 s, ASSURED), replied refreshes before stream_ts (30 s, not
    // assured), and first replies after it (30 s: SEEN_REPLY is set after the handler, so not assured yet).
    expect(after).toBeGreaterThan(30);
    expect(before).toBeGreaterThan(10);
    expect(lateReply).toBeGreaterThan(5);
  });
});
