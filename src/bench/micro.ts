/**
 * Micro suites run with benny (the chosen harness) where a stage is a plain function: parsePacket, and
 * conntrack lookup hit / miss / insert. Each benny case does BATCH operations per call so the call overhead
 * is amortized; ns/op = 1 / (ops/s * BATCH). p50/p99 come from benny's per-cycle samples.
 * benny is a dev dependency: when it cannot be loaded the suite is reported as a gap.
 */
import { ConntrackTable } from '../conntrack/table.js';
import { buildFrame } from '../packet/build.js';
import { parsePacket } from '../packet/parse.js';
import { PacketView } from '../packet/view.js';
import { KERNEL_CT_TIMEOUTS } from '../scenario/index.js';
import { Prng } from '../util/prng.js';
import { quantile } from './stats.js';
import type { BennySuite, StageResult } from './types.js';
import { ENGINE } from './pipeline.js';

const BATCH = 1024;

interface BennyLike {
  suite(name: string, ...entries: unknown[]): Promise<{ results: { name: string; ops: number; margin: number; samples: number; details?: { sampleResults?: number[] } }[] }>;
  add(name: string, fn: () => void, options?: { minSamples?: number; maxTime?: number }): unknown;
}

export async function loadBenny(): Promise<BennyLike | null> {
  try {
    const m = (await import('benny')) as unknown as { default?: BennyLike } & BennyLike;
    return typeof m.suite === 'function' ? m : (m.default ?? null);
  } catch {
    return null;
  }
}

interface Case {
  readonly name: string;
  readonly budget?: string;
  readonly fn: () => void;
}

let sink = 0;

function parseCase(): Case {
  const rng = new Prng(12345);
  const N = 4096;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < N; i++) {
    frames.push(buildFrame([
      { type: 'eth', src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      { type: 'ipv4', src: `10.244.1.${(rng.nextU32() % 254) + 1}`, dst: `10.96.${rng.nextU32() & 255}.${rng.nextU32() & 255}`, df: true },
      { type: 'tcp', srcPort: 1024 + (rng.nextU32() % 60000), dstPort: 80, seq: rng.nextU32(), ack: rng.nextU32(), flags: 0x18 },
    ], new Uint8Array(64)));
  }
  const view = new PacketView();
  let k = 0;
  return {
    name: 'parsePacket (Eth/IPv4/TCP, 118 B)',
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const f = frames[k++ & (N - 1)];
        parsePacket(view, f, 0, f.length, f.length, 1);
        sink ^= view.error;
      }
    },
  };
}

function conntrackCases(entries: number): Case[] {
  const ct = new ConntrackTable(entries + 65536, KERNEL_CT_TIMEOUTS, { seed: 1 });
  const src = (i: number): number => (0x0af40000 + (i >>> 16)) >>> 0;
  const sport = (i: number): number => 1024 + ((i & 0xffff) % 60000);
  for (let i = 0; i < entries; i++) ct.confirm(ct.create(6, 0, src(i), 0x0a600514, sport(i), 80, 0), 0);
  let k = 0;
  let m = 0;
  let next = 0;
  const label = entries.toLocaleString('en-US');
  return [
    { name: `ct lookup hit (${label} entries)`, budget: 'ebpf-map', fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const j = (k = (k + 7919) % entries);
        sink ^= ct.lookup(6, 0, src(j), 0x0a600514, sport(j), 80, 1);
      }
    } },
    { name: `ct lookup miss (${label} entries)`, budget: 'ebpf-map', fn: () => {
      for (let i = 0; i < BATCH; i++) sink ^= ct.lookup(6, 0, 0x0b000000 + (m++ & 0xfffff), 0x0a600514, 5555, 80, 1);
    } },
    { name: `ct insert (${label} entries)`, fn: () => {
      // Deletes what it inserted a batch ago, so the table size stays at `entries` + one batch.
      for (let i = 0; i < BATCH; i++) {
        const e = ct.create(17, 0, 0x0c000000 + (next & 0xffffff), 0x0a600514, 7000 + (next & 0x3ff), 53, 1);
        next++;
        if (e >= 0) {
          ct.confirm(e, 1);
          ct.delete(e);
        }
      }
    } },
  ];
}

export interface MicroResult {
  readonly stages: StageResult[];
  readonly benny: BennySuite[];
}

export async function runMicro(opts: { quick: boolean; ctEntries: number }, benny: BennyLike): Promise<MicroResult> {
  const groups: { suite: string; cases: Case[] }[] = [
    { suite: 'parse', cases: [parseCase()] },
    { suite: 'conntrack', cases: conntrackCases(opts.ctEntries) },
  ];
  const stages: StageResult[] = [];
  const summaries: BennySuite[] = [];
  const caseOpts = opts.quick ? { minSamples: 5, maxTime: 0.3 } : { minSamples: 20, maxTime: 1.5 };
  const log = console.log;
  for (const g of groups) {
    for (const c of g.cases) for (let w = 0; w < 50; w++) c.fn(); // warm-up outside benny's timing as well
    console.log = () => undefined; // benny prints "Running ... suite"; the runner prints its own progress
    let summary;
    try {
      summary = await benny.suite(g.suite, ...g.cases.map((c) => benny.add(c.name, c.fn, caseOpts)));
    } finally {
      console.log = log;
    }
    summaries.push({ name: g.suite, results: summary.results.map((r) => ({ name: r.name, ops: r.ops, margin: r.margin, samples: r.samples })) });
    summary.results.forEach((r, i) => {
      const perOp = (r.details?.sampleResults ?? []).map((s) => (s * 1e9) / BATCH);
      const meanNs = 1e9 / (r.ops * BATCH);
      stages.push({
        key: `${g.suite}/${r.name}`, suite: g.suite, stage: r.name, engine: ENGINE, model: '-',
        p50Ns: perOp.length > 0 ? quantile(perOp, 0.5) : meanNs, p99Ns: perOp.length > 0 ? quantile(perOp, 0.99) : meanNs,
        meanNs, packetsPerSec: r.ops * BATCH, packetsPerCall: 1, samples: perOp.length, budget: g.cases[i].budget,
      });
    });
  }
  if (sink === 0.5) console.log(sink);
  return { stages, benny: summaries };
}
