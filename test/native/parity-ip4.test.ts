import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { buildFrame } from '../../src/packet/build.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { podFrame, udp } from '../helpers/frames.js';
import { assertNativeBuilt, digest, type RunDigest } from './parity-helpers.js';

/**
 * Parity of the native IPv4 stages (native/src/ip4.cc): ip4-lookup, ip4-output, ip4-local,
 * ip4-defrag and the pass-through cases of nodeport4, ipvs4-in and sock4-connect, with their
 * hand-backs in the same vectors as the packets they take: no route (ICMP 3/0, or none for the
 * node's own packets), fragmentation at ip4-output (DF clear over the 1450-byte tunnel, and the
 * re-fragmentation of a reassembled datagram), fragments at ip4-defrag with a reassembly queue
 * open across vectors and one expiring, the missing neighbour (HOST_UNREACHABLE, native), local
 * delivery, the node's own packets (LOCAL_OUT), and in IPVS and eBPF modes the packets that need
 * the connection table, the socket LB or a NodePort lookup. Frames, results, counters and
 * conntrack memory must be identical to the TypeScript engine's.
 */
assertNativeBuilt();

type Mode = 'iptables' | 'ipvs' | 'ebpf';
const VIP = '10.96.5.20';
const SYN = 2;

const scenarioText = (mode: Mode): string => readFileSync(defaultScenarioPath(), 'utf8').replace(/mode: iptables/, `mode: ${mode}`);

const factory = (engine: 'ts' | 'native', vectorSize: number): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, vectorSize }),
});

/** Splits a pod-built IPv4 frame (20-byte header) into fragments of at most `mtu` bytes, as the pod's stack does. */
function podFragments(frame: Uint8Array, mtu: number): Uint8Array[] {
  const payload = frame.subarray(34);
  const chunk = (mtu - 20) & ~7;
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const piece = payload.subarray(off, Math.min(payload.length, off + chunk));
    const f = new Uint8Array(34 + piece.length);
    f.set(frame.subarray(0, 34));
    f.set(piece, 34);
    const total = 20 + piece.length;
    f[16] = total >> 8;
    f[17] = total & 255;
    const fw = (off + chunk < payload.length ? 0x2000 : 0) | (off >> 3);
    f[20] = fw >> 8;
    f[21] = fw & 255;
    f[24] = 0;
    f[25] = 0;
    let s = 0;
    for (let i = 14; i < 34; i += 2) s += (f[i] << 8) | f[i + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const c = ~s & 0xffff;
    f[24] = c >> 8;
    f[25] = c & 255;
    out.push(f);
  }
  return out;
}

function scenario(mode: Mode, engine: 'ts' | 'native', vectorSize: number, runEvery: boolean): RunDigest {
  const h = new Harness({ scenario: scenarioText(mode), engine: factory(engine, vectorSize), tracing: false });
  let t = 0;
  // dp.run, not h.run: the recorder keeps every result for the digest.
  const step = (): void => { if (runEvery) h.dp.run(); };
  const backendA = h.pod('backend-a').ip;
  const backendB = h.pod('backend-b').ip;
  const node1 = h.node('node-1');
  const node2 = h.node('node-2');
  /** A frame node-1's own stack sends (source IP of the node, a MAC no device has): LOCAL_OUT from ip4-lookup. */
  const fromNode1 = (dst: string, l4: Parameters<typeof buildFrame>[0]): Uint8Array =>
    buildFrame([{ type: 'eth', src: '02:aa:bb:cc:dd:01', dst: 'ff:ff:ff:ff:ff:ff' }, { type: 'ipv4', src: node1.ip, dst }, ...l4], new Uint8Array(16));
  for (let round = 0; round < 3; round++) {
    t += 0.01;
    for (let i = 0; i < 4; i++) {
      const k = round * 4 + i;
      h.send(podFrame(h, 'pod-a', VIP, [{ type: 'tcp', srcPort: 40000 + k, dstPort: 80, flags: SYN, seq: 1000 }]), { t });
      h.send(podFrame(h, 'pod-a', '192.0.2.7', udp(5000 + k, 53), new Uint8Array(20)), { t }); // no route: ICMP 3/0
      h.send(podFrame(h, 'pod-a', backendA, udp(6000 + k, 9000), new Uint8Array(64)), { t });
      h.send(podFrame(h, 'pod-a', '10.0.1.99', udp(7000 + k, 9), new Uint8Array(8)), { t }); // on-link, no neighbour
      h.send(podFrame(h, 'pod-a', node1.ip, [{ type: 'tcp', srcPort: 41000 + k, dstPort: 22, flags: SYN }]), { t }); // the node's stack
      h.send(podFrame(h, 'pod-a', node2.ip, [{ type: 'icmp4', icmpType: 8, id: 7, seq: k }], new Uint8Array(32)), { t });
      h.send(podFrame(h, 'pod-a', backendB, [{ type: 'icmp4', icmpType: 8, id: 9, seq: k }], new Uint8Array(32)), { t });
      // 1500 bytes over the 1450-byte tunnel: DF clear is fragmented by ip4-output, DF set gets ICMP 3/4 at ip4-forward.
      h.send(podFrame(h, 'pod-a', backendB, udp(8000 + k, 9000), new Uint8Array(1472), { df: false, id: 0x100 + k }), { t });
      if (i === 0) h.send(podFrame(h, 'pod-a', backendA, udp(8100 + k, 9000), new Uint8Array(1472), { df: true }), { t });
      h.send(fromNode1(backendA, udp(9100 + k, 9000)), { t });
      h.send(fromNode1('198.51.100.1', udp(9200 + k, 9000)), { t }); // no route, no ICMP for the node's own packet
      // A packet from outside to node-1's address on the NIC (a NodePort-range port in eBPF mode).
      h.send(buildFrame([{ type: 'eth', src: node2.mac, dst: node1.mac }, { type: 'ipv4', src: node2.ip, dst: node1.ip },
        { type: 'tcp', srcPort: 50000 + k, dstPort: 30080, flags: SYN }]), { t, at: 'node-1' });
    }
    step();
    // Fragments: the first half of a datagram now (the queue stays open across vectors), its last
    // fragment in the next round; round 0's third datagram never completes and expires.
    const whole = (id: number): Uint8Array[] => podFragments(podFrame(h, 'pod-a', backendB, udp(9300 + id, 9000), new Uint8Array(1480), { df: false, id }), 1500);
    const a = whole(0x4200 + round);
    h.send(a[0]!, { t });
    if (round === 0) h.send(whole(0x4300)[0]!, { t });
    step();
    h.send(podFrame(h, 'pod-a', backendA, udp(6100 + round, 9000), new Uint8Array(64)), { t });
    h.send(a[1]!, { t });
    h.send(podFrame(h, 'pod-a', backendA, udp(6200 + round, 9000), new Uint8Array(64)), { t });
    step();
  }
  // Past ipfrag_time: the open queue expires (FRAG_REASSEMBLY_TIMEOUT) on the next vector.
  t += 31;
  h.send(podFrame(h, 'pod-a', backendA, udp(6300, 9000), new Uint8Array(64)), { t });
  h.dp.run();
  return digest(h.dp, h.recorder, h.capture);
}

/** node stage -> [native packets, packets]. */
function shares(d: RunDigest): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  d.stageNative.forEach((row, i) => {
    const parts = row.split(' ');
    const packets = Number(/packets (\d+)/.exec(d.counters[i]!)![1]);
    out.set(`${parts[0]} ${parts[1]}`, [Number(parts[2]), packets]);
  });
  return out;
}

describe('native parity: IPv4 routing stages and their hand-backs', () => {
  for (const mode of ['iptables', 'ipvs', 'ebpf'] as const) {
    for (const v of [256, 1, 7]) {
      for (const runEvery of [true, false]) {
        it(`${mode} mode, vector ${v}, ${runEvery ? 'run per step' : 'one run'}`, () => {
          const a = scenario(mode, 'ts', v, runEvery);
          const b = scenario(mode, 'native', v, runEvery);
          expect(b.counters).toEqual(a.counters);
          expect(b.results).toEqual(a.results);
          expect(b.frames).toEqual(a.frames);
          expect(b.conntrack).toEqual(a.conntrack);
          expect(b.maps).toEqual(a.maps);
        });
      }
    }
  }

  it('takes most packets natively and hands back the cases the TS stage must handle', () => {
    const got = (d: RunDigest, key: string): [number, number] => shares(d).get(key) ?? [0, 0];
    const some = (d: RunDigest, key: string): void => {
      const [nat, all] = got(d, key);
      expect(nat, `${key} native`).toBeGreaterThan(0);
      expect(nat, `${key} handed back`).toBeLessThan(all);
    };
    const all = (d: RunDigest, key: string): void => {
      const [nat, packets] = got(d, key);
      expect(packets, key).toBeGreaterThan(0);
      expect(nat, key).toBe(packets);
    };
    const ipt = scenario('iptables', 'native', 256, true);
    some(ipt, 'node-1 ip4-lookup'); // no route
    some(ipt, 'node-1 ip4-output'); // fragmentation
    some(ipt, 'node-1 ip4-defrag'); // fragments, open queue
    all(ipt, 'node-1 ip4-local');
    all(ipt, 'node-2 ip4-local');
    all(ipt, 'node-1 nodeport4');
    all(ipt, 'node-1 ipvs4-in');
    all(ipt, 'node-1 sock4-connect');
    const ipvs = scenario('ipvs', 'native', 256, true);
    some(ipvs, 'node-1 ipvs4-in'); // TCP/UDP go to the connection table; ICMP passes
    const ebpf = scenario('ebpf', 'native', 256, true);
    some(ebpf, 'node-1 sock4-connect'); // TCP/UDP from pods: socket LB; ICMP passes
    some(ebpf, 'node-1 nodeport4'); // TCP to the node's address from the NIC: NodePort lookup
  });
});
