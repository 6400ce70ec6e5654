/**
 * UDP and ICMP conntrack against the real kernel: the conversations of fixtures/tcp-window/udp-icmp-seed-*
 * (gen-udp-icmp.ts; run.sh injected every frame into a 6.18 kernel's conntrack, FORWARD dropping ctstate INVALID,
 * and recorded the whole table after each frame). Each frame goes through the stages' conntrackIn (so an ICMP error
 * finds the entry it quotes, RELATED, as in the pipeline), is confirmed if it passed, and then every entry of
 * dpemu's `conntrack -L` must equal the kernel's (timeouts within a second).
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
const SETS = readdirSync(ROOT).filter((d) => d.startsWith('udp-icmp-seed-')).sort().map((d) => join(ROOT, d));

interface Meta { cases: { name: string; packets: { dir: 0 | 1; what: string }[] }[] }

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
  const kernel = new Map<string, { forwarded: boolean; entries: string[] }>();
  for (const line of readFileSync(join(dir, 'kernel.tsv'), 'utf8').trim().split('\n').slice(1)) {
    const cols = line.split('\t');
    kernel.set(`${cols[0]}/${cols[1]}`, { forwarded: cols[2] === '1', entries: cols[8] === '-' ? [] : cols[8]!.split(' || ') });
  }

  it('every frame: passed or dropped, then the whole table', () => {
    expect(kernel.size).toBe(all.length);
    const problems: string[] = [];
    let i = 0;
    let dropped = 0;
    for (const c of meta.cases) {
      const t = new ConntrackTable(64, KERNEL_CT_TIMEOUTS);
      let caseBad = false;
      c.packets.forEach((p, k) => {
        const now = 1 + k * 0.001;
        const pool = oneSlot(all[i++]!);
        const rt = { ctx: { conntrack: t }, now, tracing: false } as unknown as StageRuntime<NodeContext>;
        conntrackIn(rt, pool, 0, 0);
        const forwarded = pool.ctinfo[0] !== CTINFO_UNTRACKED;
        const n = pool.ct[0]!;
        if (forwarded && n >= 0 && t.isLive(n >> 1) && !t.isConfirmed(n >> 1)) t.confirm(n >> 1, now);
        const want = kernel.get(`${c.name}/${k}`)!;
        if (!want.forwarded) dropped++;
        if (caseBad) return;
        const mine = formatConntrackList(t, now).map(clean).sort(byShape);
        const theirs = [...want.entries].sort(byShape);
        const same = forwarded === want.forwarded && mine.length === theirs.length &&
          mine.every((l, j) => shape(l) === shape(theirs[j]!) && Math.abs(timeoutOf(l) - timeoutOf(theirs[j]!)) <= 1);
        if (!same) {
          caseBad = true;
          problems.push(`${c.name} #${k} ${p.what}: kernel ${want.forwarded ? 'passed' : 'dropped'} [${theirs.join(' | ')}], dpemu ${forwarded ? 'passed' : 'dropped'} [${mine.join(' | ')}]`);
        }
      });
    }
    expect(problems.slice(0, 20).join('\n')).toBe('');
    // The set exercises both outcomes: unmatched ICMP replies and errors about nothing are INVALID.
    expect(dropped).toBeGreaterThan(50);
  });
});
