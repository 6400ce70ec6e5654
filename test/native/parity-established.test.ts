import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { ipv4ToString as formatIpv4 } from '../../src/packet/format.js';
import { Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';
import { assertNativeBuilt, digest, type RunDigest } from './parity-helpers.js';

/**
 * Parity, connections through a Service: TCP and UDP flows from pod-a to the backend Service VIP
 * and to kube-dns, with the backends' replies, through the whole TCP life cycle (handshake, data,
 * retransmissions, zero window, FIN and RST closes, a SYN on a closed flow, invalid flag
 * combinations) and UDP streams, with time jumps past the timeouts (expired entries). The native
 * nf4-prerouting/nf4-postrouting take the established packets (conntrack state update, DNAT and
 * reverse NAT with incremental checksums); everything else goes to TypeScript in the same dispatch.
 * Frames, results, counters and each node's conntrack memory must be identical.
 */
assertNativeBuilt();

const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
const VIP = '10.96.5.20';
const DNS = '10.96.0.10';

const factory = (engine: 'ts' | 'native', vectorSize: number, poolSize?: number): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, vectorSize, ...(poolSize ? { poolSize } : {}) }),
});

/** The pod a DNATed flow went to: the reply tuple's source in pod-a's node table. */
function backendOf(h: Harness, sport: number): string {
  const ct = h.dp.contexts[0]!.conntrack;
  for (const e of ct.entries(0)) {
    if (ct.tSport[e * 2] === sport && ct.proto[e] === 6) {
      const ip = formatIpv4(ct.tSrc[e * 2 + 1]!);
      const pod = h.cluster.pods.find((p) => p.ip === ip);
      if (pod) return pod.name;
    }
  }
  return 'backend-a';
}

interface Plan { flows: number; runEvery: 'phase' | 'end'; closeWith: 'fin' | 'rst' | 'mixed' }

function scenario(engine: 'ts' | 'native', vectorSize: number, plan: Plan, poolSize?: number): RunDigest {
  const h = new Harness({ engine: factory(engine, vectorSize, poolSize), tracing: false });
  let t = 0;
  const phase = (): void => { if (plan.runEvery === 'phase') h.run(); };
  const tcp = (from: string, dst: string, sport: number, dport: number, flags: number, seq: number, ack: number, payload = 0, window = 64240): void => {
    h.send(podFrame(h, from, dst, [{ type: 'tcp', srcPort: sport, dstPort: dport, flags, seq, ack, window }], new Uint8Array(payload).fill(0x61)), { t });
  };
  const sports = Array.from({ length: plan.flows }, (_, i) => 41000 + i);
  const podA = h.pod('pod-a').ip;
  // Handshake: SYN, run (the backend is chosen), SYN/ACK from the backend, ACK.
  for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.SYN, 1000, 0);
  h.run();
  const be = new Map(sports.map((sp) => [sp, backendOf(h, sp)]));
  t += 0.001;
  for (const sp of sports) tcp(be.get(sp)!, podA, 8080, sp, F.SYN | F.ACK, 5000, 1001);
  phase();
  for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.ACK, 1001, 5001);
  phase();
  // Data both ways, then four retransmissions of the same segment (retrans counter, RETRANS timeout).
  for (let r = 0; r < 3; r++) {
    t += 0.01;
    for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.PSH | F.ACK, 1001 + r * 100, 5001 + r * 300, 100);
    for (const sp of sports) tcp(be.get(sp)!, podA, 8080, sp, F.PSH | F.ACK, 5001 + r * 300, 1101 + r * 100, 300);
    phase();
  }
  for (let r = 0; r < 4; r++) for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.PSH | F.ACK, 1301, 5901, 50);
  phase();
  // Zero window from the backend; invalid flag combinations (SYN|FIN, none) on live flows.
  for (const sp of sports) tcp(be.get(sp)!, podA, 8080, sp, F.ACK, 5901, 1351, 0, 0);
  for (const sp of sports.slice(0, 2)) tcp('pod-a', VIP, sp, 80, F.SYN | F.FIN, 1351, 5901);
  for (const sp of sports.slice(0, 2)) tcp('pod-a', VIP, sp, 80, 0, 1351, 5901);
  // A SYN/ACK again on an established flow (IGNORE in the state table).
  for (const sp of sports.slice(0, 2)) tcp(be.get(sp)!, podA, 8080, sp, F.SYN | F.ACK, 5000, 1001);
  phase();
  // Close: FIN both ways or RST (mixed: alternate).
  t += 0.5;
  sports.forEach((sp, i) => {
    const rst = plan.closeWith === 'rst' || (plan.closeWith === 'mixed' && i % 2 === 1);
    if (rst) tcp('pod-a', VIP, sp, 80, F.RST | F.ACK, 1351, 5901);
    else {
      tcp('pod-a', VIP, sp, 80, F.FIN | F.ACK, 1351, 5901);
      tcp(be.get(sp)!, podA, 8080, sp, F.FIN | F.ACK, 5901, 1352);
      tcp('pod-a', VIP, sp, 80, F.ACK, 1352, 5902);
    }
  });
  phase();
  // A new SYN on a closed flow (reopen), then late packets after the TIME_WAIT/CLOSE timeouts.
  t += 1;
  for (const sp of sports.slice(0, 3)) tcp('pod-a', VIP, sp, 80, F.SYN, 9000, 0);
  phase();
  t += 200;
  for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.ACK, 1352, 5902);
  phase();
  // UDP through kube-dns: queries, replies, a stream past 2 s (ASSURED), then expiry.
  const coredns = h.pod('coredns-0').ip;
  const dnsPort = (i: number): number => 52000 + i;
  void coredns;
  for (let round = 0; round < 4; round++) {
    t += round === 2 ? 3 : 0.01;
    for (let i = 0; i < plan.flows; i++) h.send(podFrame(h, 'pod-a', DNS, [{ type: 'udp', srcPort: dnsPort(i), dstPort: 53 }], new Uint8Array(40)), { t });
    if (round === 0) h.run();
    for (let i = 0; i < plan.flows; i++) h.send(podFrame(h, 'coredns-0', podA, [{ type: 'udp', srcPort: 53, dstPort: dnsPort(i) }], new Uint8Array(80)), { t });
    phase();
  }
  t += 400;
  for (let i = 0; i < plan.flows; i++) h.send(podFrame(h, 'pod-a', DNS, [{ type: 'udp', srcPort: dnsPort(i), dstPort: 53 }], new Uint8Array(40)), { t });
  h.run();
  return digest(h.dp, h.recorder, h.capture);
}

function nativeIn(d: RunDigest): number {
  return d.nativePackets;
}

describe('native parity: established connections through Services', () => {
  const plans: Plan[] = [
    { flows: 6, runEvery: 'phase', closeWith: 'mixed' },
    { flows: 5, runEvery: 'end', closeWith: 'fin' },
    { flows: 3, runEvery: 'phase', closeWith: 'rst' },
  ];
  for (const plan of plans) {
    for (const v of [256, 1, 7]) {
      it(`${plan.flows} flows, run per ${plan.runEvery}, close ${plan.closeWith}, vector ${v}`, () => {
        const a = scenario('ts', v, plan);
        const b = scenario('native', v, plan);
        expect(b.counters).toEqual(a.counters);
        expect(b.results).toEqual(a.results);
        expect(b.frames).toEqual(a.frames);
        expect(b.conntrack).toEqual(a.conntrack);
        expect(b.maps).toEqual(a.maps);
        expect(nativeIn(b)).toBeGreaterThan(0);
      });
    }
  }
  // 300 flows' life cycles in vectors of 1024: walks longer than the deferred-entry set holds (256 entries;
  // deferred-entries.test.ts holds the set itself to a model, overflow included).
  it('300 flows, run per end, close fin, vector 1024', () => {
    const plan: Plan = { flows: 300, runEvery: 'end', closeWith: 'fin' };
    const a = scenario('ts', 1024, plan, 16384);
    const b = scenario('native', 1024, plan, 16384);
    expect(b.counters).toEqual(a.counters);
    expect(b.results).toEqual(a.results);
    expect(b.conntrack).toEqual(a.conntrack);
    expect(nativeIn(b)).toBeGreaterThan(0);
  });
  it('the netfilter hooks run established packets natively', () => {
    const b = scenario('native', 256, plans[0]!);
    const pre = b.stageNative.find((r) => r.startsWith('node-1 nf4-prerouting '));
    const post = b.stageNative.find((r) => r.startsWith('node-1 nf4-postrouting '));
    expect(Number(pre?.split(' ').pop())).toBeGreaterThan(20);
    expect(Number(post?.split(' ').pop())).toBeGreaterThan(20);
    const fwd = b.stageNative.filter((r) => r.includes(' nf4-forward ')).reduce((a, r) => a + Number(r.split(' ').pop()), 0);
    expect(fwd).toBeGreaterThan(20);
  });
});
