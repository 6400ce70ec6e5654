/**
 * Conntrack's TCP tracking against the real kernel: seeded random conversations (fixtures/tcp-window/seed-*: gen.ts
 * made cases.pcap, run.sh injected every frame into a 6.18 kernel's conntrack and wrote kernel.tsv; seed-20261123
 * has 400, seed-7 1500, seed-777-v2 500 of the wider mix, with the kernel's send and listing times).
 * For every packet, dpemu must agree on whether it passes (FORWARD drops ctstate INVALID) and on the
 * connection's `conntrack -L` state, timeout class and flags afterwards.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pcapFrames } from '../helpers/capture-files.js';
import * as C from '../../src/conntrack/index.js';
import { formatConntrackList } from '../../src/conntrack/format.js';
import { newTcpOptions, readTcpOptions } from '../../src/conntrack/tcp-options.js';
import { KERNEL_CT_TIMEOUTS } from '../../src/scenario/defaults.js';
import { table } from './helpers.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'tcp-window');
// DPEMU_TCP_WINDOW_DIR: one more set (gen.ts seed count dir; run.sh dir), checked with the committed ones.
const SETS = [
  ...readdirSync(ROOT).filter((d) => d.startsWith('seed-')).sort().map((d) => join(ROOT, d)),
  ...(process.env.DPEMU_TCP_WINDOW_DIR ? [process.env.DPEMU_TCP_WINDOW_DIR] : []),
];

interface Meta { cases: { name: string; packets: { dir: 0 | 1; what: string }[] }[] }
/** tx / listed: seconds from the case's first frame to this frame's send and to the conntrack -L (newer sets). */
interface KernelRow { forwarded: boolean; state: string; timeout: string; flags: string; tx?: number; listed?: number }

function kernelRows(DIR: string): Map<string, KernelRow> {
  const rows = new Map<string, KernelRow>();
  for (const line of readFileSync(join(DIR, 'kernel.tsv'), 'utf8').trim().split('\n').slice(1)) {
    const [c, k, fwd, state, timeout, flags, tx, listed] = line.split('\t');
    const row: KernelRow = { forwarded: fwd === '1', state: state!, timeout: timeout!, flags: flags! };
    if (tx !== undefined && listed !== undefined) { row.tx = Number(tx); row.listed = Number(listed); }
    rows.set(`${c}/${k}`, row);
  }
  return rows;
}

/** One packet through dpemu's conntrack as the router's PREROUTING/POSTROUTING would run it. */
function step(t: C.ConntrackTable, f: Uint8Array, now: number): boolean {
  const l3 = 14;
  const l4 = l3 + (f[l3]! & 0x0f) * 4;
  const rd16 = (o: number): number => (f[o]! << 8) | f[o + 1]!;
  const rd32 = (o: number): number => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
  const doff = (f[l4 + 12]! >> 4) * 4;
  const ack = rd32(l4 + 8);
  const o = readTcpOptions(f, l4 + 20, l4 + doff, ack, newTcpOptions());
  const n = t.track(C.IPPROTO_TCP, 0, rd32(l3 + 12), rd32(l3 + 16), rd16(l4), rd16(l4 + 2), now, f[l4 + 13]!, rd32(l4 + 4), ack,
    rd16(l4 + 14), rd16(l3 + 2) - (l4 - l3) - doff, o.bits, o.sack);
  if (n < 0) return false;
  const e = n >> 1;
  if (t.isLive(e) && !t.isConfirmed(e)) t.confirm(e, now);
  return true;
}

/** state, timeout, flags of the case's one entry, parsed from dpemu's `conntrack -L` as inject.py parses the kernel's. */
function listed(t: C.ConntrackTable, now: number): [string, number, string] {
  const line = formatConntrackList(t, now)[0];
  if (!line) return ['-', -1, '-'];
  const w = line.split(/\s+/);
  const flags = w.filter((x) => x === '[UNREPLIED]' || x === '[ASSURED]').map((x) => x.slice(1, -1)).join(',') || '-';
  return [w[3]!, Number(w[2]), flags];
}

describe.each(SETS.map((d) => [d.slice(d.lastIndexOf('/') + 1), d]))('TCP window tracking agrees with the kernel (fixtures/tcp-window/%s)', (_name, DIR) => {
  const meta = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as Meta;
  const all = pcapFrames(join(DIR, 'cases.pcap'));
  const kernel = kernelRows(DIR);

  it('the fixtures line up: one kernel row per frame, and the kernel both passed and dropped packets', () => {
    const n = meta.cases.reduce((a, c) => a + c.packets.length, 0);
    expect(all.length).toBe(n);
    expect(kernel.size).toBe(n);
    const fwd = [...kernel.values()].filter((r) => r.forwarded).length;
    expect(fwd).toBeGreaterThan(n / 2);
    expect(n - fwd).toBeGreaterThan(300);
  });

  it('every packet: forwarded or dropped INVALID, then the entry\'s state, timeout and flags', () => {
    const problems: string[] = [];
    let i = 0;
    for (const c of meta.cases) {
      const t = table(64, KERNEL_CT_TIMEOUTS);
      let caseBad = false;
      c.packets.forEach((p, k) => {
        const want = kernel.get(`${c.name}/${k}`)!;
        // Packet time: the kernel's own send time when the set recorded it (its timeouts ran on wall time), else 1 ms apart.
        const now = 1 + (want.tx ?? k * 0.001);
        const fwd = step(t, all[i++]!, now);
        if (caseBad) return; // report the first divergence of a case only
        const [state, timeout, flags] = listed(t, 1 + (want.listed ?? k * 0.001));
        // Whole seconds of the same deadline read a few ms apart, the kernel's on its jiffies clock: one apart at most.
        const kt = want.timeout === '-' ? -1 : Number(want.timeout);
        const timeoutOk = Math.abs(kt - timeout) <= 1;
        if (fwd !== want.forwarded || state !== want.state || flags !== want.flags || !timeoutOk) {
          caseBad = true;
          problems.push(`${c.name} #${k} ${p.dir ? 'server' : 'client'} ${p.what}: kernel ${want.forwarded ? 'passed' : 'dropped'} ` +
            `${want.state} ${want.timeout} ${want.flags}, dpemu ${fwd ? 'passed' : 'dropped'} ${state} ${timeout} ${flags}`);
        }
      });
    }
    expect(problems.slice(0, 30).join('\n')).toBe('');
    expect(problems.length).toBe(0);
  });
});
