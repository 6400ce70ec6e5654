import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { buildFrame, type LayerSpec } from '../../src/packet/build.js';
import { Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';
import { assertNativeBuilt, digest, type RunDigest } from './parity-helpers.js';

/**
 * Parity of the native nf4-output and nf4-input (the filter walk compiled from kube-proxy's rules)
 * and of NEW packets of confirmed entries in nf4-prerouting/nf4-postrouting: the outer VXLAN flows
 * (UDP node -> node:4789, never answered, ctinfo NEW for ever) of pod-to-pod UDP and TCP across
 * nodes, connections the node itself opens (to a pod: native; to a Service VIP: DNAT at OUTPUT
 * re-routes, handed back), untracked (INVALID) packets to the node, and time jumps past the UDP
 * timeout (expired outer entries are reaped by TS). Frames, results, counters and conntrack
 * memory must be identical.
 */
assertNativeBuilt();

const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
const VIP = '10.96.5.20';
const DNS = '10.96.0.10';

const factory = (engine: 'ts' | 'native', vectorSize: number): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, vectorSize }),
});

function scenario(engine: 'ts' | 'native', vectorSize: number, runEvery: boolean): RunDigest {
  const h = new Harness({ engine: factory(engine, vectorSize), tracing: false });
  let t = 0;
  const phase = (): void => { if (runEvery) h.run(); };
  const node1 = h.node('node-1').ip;
  const backendA = h.pod('backend-a').ip;
  const backendB = h.pod('backend-b').ip;
  const podA = h.pod('pod-a').ip;
  // Sent by node-1's own stack: an unknown source MAC with the node's address (frame-input: LOCAL_OUT).
  const fromNode = (dst: string, l4: LayerSpec[], payload = 0): void => {
    h.send(buildFrame([{ type: 'eth', src: '02:aa:aa:aa:aa:01', dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src: node1, dst }, ...l4], new Uint8Array(payload).fill(0x6e)), { t });
  };
  const tcp = (sport: number, dport: number, flags: number, seq: number, ack: number): LayerSpec[] => [{ type: 'tcp', srcPort: sport, dstPort: dport, flags, seq, ack, window: 64240 }];
  // Pod-to-pod across nodes: UDP both ways and TCP, so outer flows exist in both directions.
  for (let round = 0; round < 6; round++) {
    t += round === 3 ? 40 : 0.01; // past the 30 s UDP timeout: the outer entries expire
    for (let i = 0; i < 5; i++) {
      h.send(podFrame(h, 'pod-a', backendA, [{ type: 'udp', srcPort: 30000 + i, dstPort: 9000 }], new Uint8Array(20 + i)), { t });
      h.send(podFrame(h, 'backend-a', podA, [{ type: 'udp', srcPort: 9000, dstPort: 30000 + i }], new Uint8Array(30)), { t });
      h.send(podFrame(h, 'pod-a', backendB, tcp(31000 + i, 8080, round === 0 ? F.SYN : F.ACK | F.PSH, 100 + round, 7), new Uint8Array(10)), { t });
    }
    if (round === 0) h.run();
    phase();
  }
  // node-1 connects to backend-b (native OUTPUT once confirmed: SYN retransmit NEW, data ESTABLISHED).
  for (let i = 0; i < 4; i++) fromNode(backendB, tcp(45000 + i, 8080, F.SYN, 1000, 0));
  h.run();
  t += 0.01;
  for (let i = 0; i < 4; i++) fromNode(backendB, tcp(45000 + i, 8080, F.SYN, 1000, 0)); // retransmit: NEW, DST_NAT_DONE
  phase();
  for (let i = 0; i < 4; i++) h.send(podFrame(h, 'backend-b', node1, tcp(8080, 45000 + i, F.SYN | F.ACK, 5000, 1001)), { t });
  phase();
  for (let r = 0; r < 3; r++) {
    t += 0.01;
    for (let i = 0; i < 4; i++) fromNode(backendB, tcp(45000 + i, 8080, F.ACK | F.PSH, 1001 + r * 10, 5001), 10);
    for (let i = 0; i < 4; i++) h.send(podFrame(h, 'backend-b', node1, tcp(8080, 45000 + i, F.ACK | F.PSH, 5001 + r * 20, 1011 + r * 10), new Uint8Array(20)), { t });
    phase();
  }
  // Invalid flags on those flows (conntrack INVALID: untracked at INPUT), an RST before any reply.
  for (let i = 0; i < 2; i++) h.send(podFrame(h, 'backend-b', node1, tcp(8080, 45000 + i, F.SYN | F.FIN, 5061, 1031)), { t });
  fromNode(backendA, tcp(46000, 8080, F.SYN, 1, 0));
  h.run();
  fromNode(backendA, tcp(46000, 8080, F.RST, 2, 0));
  phase();
  // node-1 to Service VIPs: DNAT at OUTPUT changes the destination (re-route): TS every time.
  for (let r = 0; r < 3; r++) {
    t += 0.01;
    for (let i = 0; i < 3; i++) fromNode(DNS, [{ type: 'udp', srcPort: 47000 + i, dstPort: 53 }], 30);
    for (let i = 0; i < 3; i++) fromNode(VIP, tcp(48000 + i, 80, r === 0 ? F.SYN : F.ACK, 10 + r, 0));
    phase();
  }
  // node-1 to its own address (lo): OUTPUT, POSTROUTING, then INPUT. A handshake and data both ways,
  // so after the first packets POSTROUTING takes the loopback natively (established entry).
  for (let r = 0; r < 4; r++) {
    t += 0.01;
    for (let i = 0; i < 3; i++) {
      fromNode(node1, tcp(49000 + i, 22, r === 0 ? F.SYN : F.ACK | F.PSH, 700 + r * 5, r === 0 ? 0 : 301 + r * 7), r === 0 ? 0 : 5);
      fromNode(node1, tcp(22, 49000 + i, r === 0 ? F.SYN | F.ACK : F.ACK | F.PSH, 300 + r * 7, 701 + r * 5), r === 0 ? 0 : 7);
    }
    phase();
  }
  // Close the node's flows; much later, everything again (expired entries everywhere).
  for (let i = 0; i < 4; i++) fromNode(backendB, tcp(45000 + i, 8080, F.FIN | F.ACK, 1031, 5061));
  phase();
  t += 500;
  for (let i = 0; i < 4; i++) fromNode(backendB, tcp(45000 + i, 8080, F.ACK, 1032, 5062));
  for (let i = 0; i < 5; i++) h.send(podFrame(h, 'pod-a', backendA, [{ type: 'udp', srcPort: 30000 + i, dstPort: 9000 }], new Uint8Array(20)), { t });
  h.run();
  return digest(h.dp, h.recorder, h.capture);
}

const nativeAt = (d: RunDigest, stage: string): number =>
  d.stageNative.filter((r) => r.includes(` ${stage} `)).reduce((a, r) => a + Number(r.split(' ').pop()), 0);

describe('native parity: nf4-output / nf4-input and the outer VXLAN flows', () => {
  for (const runEvery of [true, false]) {
    for (const v of [256, 1, 7]) {
      it(`run ${runEvery ? 'per phase' : 'at the end'}, vector ${v}`, () => {
        const a = scenario('ts', v, runEvery);
        const b = scenario('native', v, runEvery);
        expect(b.counters).toEqual(a.counters);
        expect(b.results).toEqual(a.results);
        expect(b.frames).toEqual(a.frames);
        expect(b.conntrack).toEqual(a.conntrack);
        expect(b.maps).toEqual(a.maps);
      });
    }
  }
  it('nf4-output and nf4-input take most packets natively, and hand some back', () => {
    const b = scenario('native', 256, true);
    const out = b.stageNative.filter((r) => r.includes(' nf4-output '));
    expect(nativeAt(b, 'nf4-output')).toBeGreaterThan(40);
    expect(nativeAt(b, 'nf4-input')).toBeGreaterThan(40);
    expect(nativeAt(b, 'nf4-prerouting')).toBeGreaterThan(40);
    // The TS stage still ran for some packets (first packets, VIP re-route, expiry): fewer native than packets.
    const packets = b.counters.filter((r) => r.includes(' nf4-output ')).reduce((a, r) => a + Number(r.split(' packets ')[1]!.split(' ')[0]), 0);
    expect(nativeAt(b, 'nf4-output')).toBeLessThan(packets);
    expect(out.length).toBeGreaterThan(0);
  });
});
