import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { pcapFrames } from '../helpers/capture-files.js';
import { podFrame } from '../helpers/frames.js';
import { assertNativeBuilt, digest, type RunDigest } from './parity-helpers.js';

/**
 * Parity, TCP window tracking: the conversations of test/conntrack/fixtures/tcp-window/seed-* (the ones the
 * kernel judged, in-window and not: old and future sequence numbers, ACKs of unseen data, SACK blocks,
 * window scaling, zero windows, retransmissions, FIN, RST, SYN in the middle) replayed between pod-a
 * (client) and backend-b (server, across the VXLAN overlay), each conversation on its own port. The native
 * conntrack hooks take the in-window packets of live entries; the rest goes to TypeScript. Frames, results
 * (CT_INVALID drops included), counters and each node's conntrack memory (window data too) must be identical.
 */
assertNativeBuilt();

const SETS = join(import.meta.dirname, '..', 'conntrack', 'fixtures', 'tcp-window');

interface Seg { caseNo: number; dir: 0 | 1; flags: number; seq: number; ack: number; window: number; options: Uint8Array; payload: number }

/** The TCP fields of every frame of cases.pcap, with its case number and direction. */
function segments(DIR: string): Seg[] {
  const meta = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { cases: { packets: { dir: 0 | 1 }[] }[] };
  const frames = pcapFrames(join(DIR, 'cases.pcap'));
  const out: Seg[] = [];
  let i = 0;
  meta.cases.forEach((c, caseNo) => {
    for (const p of c.packets) {
      const f = frames[i++]!;
      const l4 = 14 + (f[14]! & 0x0f) * 4;
      const doff = (f[l4 + 12]! >> 4) * 4;
      out.push({
        caseNo, dir: p.dir, flags: f[l4 + 13]!, seq: f.readUInt32BE(l4 + 4), ack: f.readUInt32BE(l4 + 8), window: f.readUInt16BE(l4 + 14),
        options: new Uint8Array(f.subarray(l4 + 20, l4 + doff)), payload: f.readUInt16BE(16) - (l4 - 14) - doff,
      });
    }
  });
  return out;
}

const factory = (engine: 'ts' | 'native', vectorSize: number): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, vectorSize }),
});

/** The run's digest, with the results every run() took (the harness hands them out per run). */
function replay(engine: 'ts' | 'native', vectorSize: number, batch: number, segs: Seg[], scenario?: string): RunDigest & { verdicts: string[] } {
  const h = new Harness({ engine: factory(engine, vectorSize), tracing: false, ...(scenario !== undefined ? { scenario } : {}) });
  const verdicts: string[] = [];
  const run = (): void => {
    for (const r of h.run().results) verdicts.push(`#${r.frame}${r.generated ? '+' : ''} v${r.verdict} d${r.drop} ${r.stage} n${r.node} hops ${r.hops.length}`);
  };
  const client = h.pod('pod-a').ip;
  const server = h.pod('backend-b').ip;
  segs.forEach((g, i) => {
    const sport = 20000 + g.caseNo;
    const tcp = { type: 'tcp' as const, flags: g.flags, seq: g.seq, ack: g.ack, window: g.window, options: g.options };
    const frame = g.dir === 0
      ? podFrame(h, 'pod-a', server, [{ ...tcp, srcPort: sport, dstPort: 8080 }], new Uint8Array(g.payload).fill(0x61), { df: true })
      : podFrame(h, 'backend-b', client, [{ ...tcp, srcPort: 8080, dstPort: sport }], new Uint8Array(g.payload).fill(0x61), { df: true });
    h.send(frame, { t: 1 + i * 0.0001 });
    if ((i + 1) % batch === 0) run();
  });
  run();
  return { ...digest(h.dp, h.recorder, h.capture), verdicts };
}

describe('native parity: TCP window tracking over the kernel-judged conversations', () => {
  const small = segments(join(SETS, 'seed-20261123'));
  const large = segments(join(SETS, 'seed-7'));
  const wider = segments(join(SETS, 'seed-777-v2'));
  const modes: [string, string | undefined][] = [
    ['iptables', undefined],
    ['ipvs', readFileSync(join(import.meta.dirname, '..', '..', 'pcaps', 'scenarios', 'ipvs.yaml'), 'utf8')],
    ['ebpf', readFileSync(join(import.meta.dirname, '..', '..', 'pcaps', 'scenarios', 'ebpf.yaml'), 'utf8')],
  ];
  const configs = [[256, 500, 'iptables', small], [7, 50, 'iptables', small], [1, 1, 'iptables', small], [256, 500, 'ipvs', small],
    [256, 500, 'ebpf', small], [256, 500, 'iptables', large], [256, 500, 'iptables', wider], [7, 50, 'iptables', wider]] as const;
  for (const [v, batch, mode, segs] of configs) {
    it(`${segs.length} segments, kube-proxy ${mode}, vector ${v}, run every ${batch} frames`, () => {
      const scenario = modes.find(([m]) => m === mode)![1];
      const a = replay('ts', v, batch, segs, scenario);
      const b = replay('native', v, batch, segs, scenario);
      expect(b.counters).toEqual(a.counters);
      expect(b.verdicts).toEqual(a.verdicts);
      expect(a.verdicts.filter((r) => !r.includes('+')).length).toBe(segs.length);
      expect(b.frames).toEqual(a.frames);
      expect(b.conntrack).toEqual(a.conntrack);
      expect(b.maps).toEqual(a.maps);
      expect(b.nativePackets).toBeGreaterThan(1000);
      // The window checks decided something: packets dropped CT_INVALID (228) by kube-proxy's KUBE-FORWARD. In ebpf
      // mode there is no kube-proxy and no rule drops ctstate INVALID (Cilium's own CT is separate): none.
      const invalid = a.verdicts.filter((r) => r.includes(' d228 ')).length;
      if (mode === 'ebpf') expect(invalid).toBe(0);
      else expect(invalid).toBeGreaterThan(100);
    });
  }
});
