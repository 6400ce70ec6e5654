import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { buildFrame } from '../../src/packet/build.js';
import { ipv4ToString } from '../../src/packet/format.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { arpRequest, HOST_VETH_MAC, podFrame, vxlanFromNode } from '../helpers/frames.js';
import { assertNativeBuilt, digest, type RunDigest } from './parity-helpers.js';

/**
 * Parity of the edge stages (frame-input, veth-xmit, underlay-xmit, policy4-egress/ingress) and of
 * what they hand back, all mixed in the same vectors so hand-backs interleave with native packets:
 * pod frames attached by source MAC (TCP, UDP, ICMP, VLAN-tagged, IP options, fragments), frames at
 * a preset device (a pod, a node NIC: observed there), node-sent frames over the underlay (to a
 * node, out of the cluster, broadcast floods), ARP, IPv6, ICMP errors, VXLAN, malformed frames,
 * attach by source IP (L2 rewrite), unknown senders; established flows through a Service to
 * backends under a NetworkPolicy (native pass) and NEW flows it allows or denies (TS), and the same
 * with an L7 rule (flows waiting for the proxy: TS). New flows of an endpoint no policy selects in
 * that direction pass natively; an egress policy on the client makes its new flows TS again.
 */
assertNativeBuilt();

const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
const VIP = '10.96.5.20';
const base = readFileSync(defaultScenarioPath(), 'utf8');

const NETPOL = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: backend-from-client, namespace: default }
spec:
  podSelector: { matchLabels: { app: backend } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ podSelector: { matchLabels: { app: client } } }]
      ports: [{ protocol: TCP, port: 8080 }]
`;
const EGRESS = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: client-egress, namespace: default }
spec:
  podSelector: { matchLabels: { app: client } }
  policyTypes: [Egress]
  egress:
    - to: [{ podSelector: { matchLabels: { app: backend } } }]
      ports: [{ protocol: TCP, port: 8080 }]
`;
const L7 = `---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: l7, namespace: default }
spec:
  endpointSelector: { matchLabels: { app: backend } }
  ingress:
    - fromEndpoints: [{ matchLabels: { app: client } }]
      toPorts: [{ ports: [{ port: "8080", protocol: TCP }], rules: { http: [{ method: GET, path: "/ok.*" }] } }]
`;

const factory = (engine: 'ts' | 'native', vectorSize: number): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, vectorSize }),
});

function backendOf(h: Harness, sport: number): string {
  const ct = h.dp.contexts[0]!.conntrack;
  for (const e of ct.entries(0)) {
    if (ct.tSport[e * 2] === sport && ct.proto[e] === 6) {
      const pod = h.cluster.pods.find((p) => p.ip === ipv4ToString(ct.tSrc[e * 2 + 1]!));
      if (pod) return pod.name;
    }
  }
  return 'backend-a';
}

function run(engine: 'ts' | 'native', vectorSize: number, policy: string, runEach: boolean): RunDigest {
  const h = new Harness({ scenario: base + policy, engine: factory(engine, vectorSize), tracing: false });
  let t = 0;
  const step = (): void => { if (runEach) h.run(); };
  const podA = h.pod('pod-a');
  const n1 = h.node('node-1');
  const n2 = h.node('node-2');
  const beA = h.pod('backend-a');
  const beB = h.pod('backend-b');
  const tcp = (from: string, dst: string, sport: number, dport: number, flags: number, seq: number, ack: number, payload = 0, text = ''): void => {
    const body = text ? new TextEncoder().encode(text) : new Uint8Array(payload).fill(0x61);
    h.send(podFrame(h, from, dst, [{ type: 'tcp', srcPort: sport, dstPort: dport, flags, seq, ack, window: 64240 }], body), { t });
  };
  const sports = [43000, 43001, 43002, 43003];
  for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.SYN, 1000, 0);
  h.run();
  const be = new Map(sports.map((sp) => [sp, backendOf(h, sp)]));
  t += 0.001;
  for (const sp of sports) tcp(be.get(sp)!, podA.ip, 8080, sp, F.SYN | F.ACK, 5000, 1001);
  step();
  for (const sp of sports) tcp('pod-a', VIP, sp, 80, F.ACK, 1001, 5001);
  step();
  // Established data (the L7 rule sees the first request), mixed with everything the edge stages hand back.
  for (let r = 0; r < 3; r++) {
    t += 0.01;
    for (const sp of sports) {
      tcp('pod-a', VIP, sp, 80, F.PSH | F.ACK, 1001 + r * 100, 5001 + r * 300, 0, r === 0 ? (sp % 2 ? 'GET /ok/1 HTTP/1.1\r\nHost: x\r\n\r\n' : 'DELETE /x HTTP/1.1\r\n\r\n').padEnd(100, ' ') : 'x'.repeat(100));
      tcp(be.get(sp)!, podA.ip, 8080, sp, F.PSH | F.ACK, 5001 + r * 300, 1101 + r * 100, 300);
    }
    // NEW flows the policy denies (backend to backend, wrong port) and allows (pod-a to a backend directly).
    tcp('backend-a', beB.ip, 44000 + r, 8080, F.SYN, 1, 0);
    tcp('pod-a', beA.ip, 44100 + r, 9090, F.SYN, 1, 0);
    tcp('pod-a', beB.ip, 44200 + r, 8080, F.SYN, 1, 0);
    // UDP and ICMP echo pod to pod; ICMP error (quotes a datagram: TS parse).
    h.send(podFrame(h, 'pod-a', beA.ip, [{ type: 'udp', srcPort: 5000 + r, dstPort: 5353 }], new Uint8Array(20)), { t });
    h.send(podFrame(h, 'pod-a', beB.ip, [{ type: 'icmp4', icmpType: 8, id: 7, seq: r }], new Uint8Array(16)), { t });
    h.send(podFrame(h, 'pod-a', beB.ip, [{ type: 'icmp4', icmpType: 3, code: 3 }], buildFrame([{ type: 'ipv4', src: beB.ip, dst: podA.ip }, { type: 'udp', srcPort: 53, dstPort: 999 }]).subarray(0, 28)), { t });
    // VLAN-tagged (native parse, then ethernet-input drops it), IP options, fragments, IPv6, ARP.
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC, vlans: [{ id: 10 }] }, { type: 'ipv4', src: podA.ip, dst: beA.ip }, { type: 'udp', srcPort: 1, dstPort: 2 }]), { t });
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC, vlans: [{ id: 10 }, { id: 20 }, { id: 30 }, { id: 40 }, { id: 50 }] }, { type: 'ipv4', src: podA.ip, dst: beA.ip }, { type: 'udp', srcPort: 1, dstPort: 2 }]), { t });
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: podA.ip, dst: beA.ip, options: new Uint8Array([1, 1, 1, 0]) }, { type: 'udp', srcPort: 3, dstPort: 4 }]), { t });
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: podA.ip, dst: beA.ip, mf: true, id: 77 }, { type: 'udp', srcPort: 3, dstPort: 4, length: 200 }], new Uint8Array(32)), { t });
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: podA.ip, dst: beA.ip, fragOffset: 5, id: 77 }, { type: 'raw', bytes: new Uint8Array(40) }]), { t });
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC }, { type: 'ipv6', src: 'fd00::1', dst: 'fd00::2' }, { type: 'udp', srcPort: 1, dstPort: 2 }]), { t });
    h.send(arpRequest(podA.mac, podA.ip, podA.gatewayIp), { t });
    // Other IPv4 protocol (SCTP, not dissected), truncated TCP, UDP length beyond the frame (parse errors).
    h.send(buildFrame([{ type: 'eth', src: podA.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: podA.ip, dst: beA.ip, protocol: 132 }, { type: 'raw', bytes: new Uint8Array(24) }]), { t });
    const trunc = podFrame(h, 'pod-a', beA.ip, [{ type: 'tcp', srcPort: 1, dstPort: 2 }]);
    h.send(trunc.subarray(0, trunc.length - 8), { t });
    h.send(podFrame(h, 'pod-a', beA.ip, [{ type: 'udp', srcPort: 1, dstPort: 2, length: 400 }]), { t });
    // Attach by source IP (unknown MAC: L2 rewritten), by a node's IP (LOCAL_OUT), unknown sender.
    h.send(buildFrame([{ type: 'eth', src: '02:99:99:99:99:99', dst: HOST_VETH_MAC }, { type: 'ipv4', src: podA.ip, dst: beA.ip }, { type: 'udp', srcPort: 7, dstPort: 8 }]), { t });
    h.send(buildFrame([{ type: 'eth', src: '02:99:99:99:99:98', dst: n2.mac }, { type: 'ipv4', src: n1.ip, dst: beB.ip }, { type: 'icmp4', icmpType: 8 }]), { t });
    h.send(buildFrame([{ type: 'eth', src: '02:99:99:99:99:97', dst: HOST_VETH_MAC }, { type: 'ipv4', src: '192.0.2.1', dst: beA.ip }, { type: 'udp', srcPort: 7, dstPort: 8 }]), { t });
    // Preset devices: a pod's eth0, a node NIC receiving (observed there), a VXLAN frame at a NIC.
    h.send(podFrame(h, 'backend-b', podA.ip, [{ type: 'udp', srcPort: 9, dstPort: 10 }]), { t, at: 'backend-b' });
    h.send(buildFrame([{ type: 'eth', src: n2.mac, dst: n1.mac }, { type: 'ipv4', src: n2.ip, dst: n1.ip }, { type: 'tcp', srcPort: 1, dstPort: 22, flags: F.SYN }]), { t, at: 'node-1' });
    h.send(arpRequest(n2.mac, n2.ip, n1.ip), { t, at: 'node-1' });
    h.send(vxlanFromNode(h, 'node-2', 'node-1', { src: beB.ip, dst: podA.ip, l4: [{ type: 'udp', srcPort: 11, dstPort: 12 }] }), { t, at: 'node-1' });
    // Sent by node NICs (attach by MAC): to another node, out of the cluster, broadcast (floods).
    h.send(buildFrame([{ type: 'eth', src: n1.mac, dst: n2.mac }, { type: 'ipv4', src: n1.ip, dst: n2.ip }, { type: 'udp', srcPort: 1000, dstPort: 2000 }]), { t });
    h.send(buildFrame([{ type: 'eth', src: n1.mac, dst: '02:42:42:42:42:42' }, { type: 'ipv4', src: n1.ip, dst: '192.0.2.9' }, { type: 'udp', srcPort: 1000, dstPort: 2000 }]), { t });
    h.send(arpRequest(n1.mac, n1.ip, n2.ip), { t });
    step();
  }
  // Close half the flows, then late packets.
  t += 0.5;
  for (const sp of sports.slice(0, 2)) tcp('pod-a', VIP, sp, 80, F.RST | F.ACK, 1301, 5901);
  for (const sp of sports.slice(2)) tcp('pod-a', VIP, sp, 80, F.PSH | F.ACK, 1301, 5901, 50);
  h.run();
  return digest(h.dp, h.recorder, h.capture);
}

const nativeOf = (d: RunDigest, stage: string): number =>
  d.stageNative.filter((r) => r.split(' ')[1] === stage).reduce((a, r) => a + Number(r.split(' ').pop()), 0);
const packetsOf = (d: RunDigest, stage: string): number =>
  d.counters.filter((r) => r.split(' ')[1] === stage).reduce((a, r) => a + Number(/packets (\d+)/.exec(r)![1]), 0);

describe('native parity: edge stages (frame-input, veth/underlay xmit, policy)', () => {
  for (const [name, policy] of [['NetworkPolicy', NETPOL], ['ingress and egress NetworkPolicies', NETPOL + EGRESS], ['L7 CiliumNetworkPolicy', L7], ['no policy', '']] as const) {
    for (const v of [256, 1, 7]) {
      for (const runEach of [true, false]) {
        it(`${name}, vector ${v}, run ${runEach ? 'per step' : 'at the end'}`, () => {
          const a = run('ts', v, policy, runEach);
          const b = run('native', v, policy, runEach);
          expect(b.counters).toEqual(a.counters);
          expect(b.results).toEqual(a.results);
          expect(b.frames).toEqual(a.frames);
          expect(b.conntrack).toEqual(a.conntrack);
          expect(b.maps).toEqual(a.maps);
        });
      }
    }
  }

  it('takes the common packets natively and hands the others back', () => {
    const d = run('native', 256, NETPOL, true);
    for (const st of ['frame-input', 'veth-xmit', 'underlay-xmit', 'policy4-egress', 'policy4-ingress']) {
      expect(nativeOf(d, st), st).toBeGreaterThan(10);
    }
    // Hand-backs: frame-input parse errors, ARP, IPv6, tunnels, ICMP errors, attach by IP; underlay floods; NEW flows under policy.
    for (const st of ['frame-input', 'underlay-xmit', 'policy4-ingress']) {
      expect(nativeOf(d, st), st).toBeLessThan(packetsOf(d, st));
    }
  });

  it('new flows pass natively only where no policy selects the endpoint', () => {
    const open = run('native', 256, NETPOL, true);
    const closed = run('native', 256, NETPOL + EGRESS, true);
    // No egress policy anywhere: every egress packet passes natively; with one on pod-a its new flows are walked in TS.
    expect(nativeOf(open, 'policy4-egress')).toBe(packetsOf(open, 'policy4-egress'));
    expect(nativeOf(closed, 'policy4-egress')).toBeLessThan(packetsOf(closed, 'policy4-egress'));
    expect(nativeOf(closed, 'policy4-egress')).toBeGreaterThan(10);
  });

  it('an L7 flow waiting for the proxy sends policy to TypeScript', () => {
    const d = run('native', 256, L7, true);
    expect(nativeOf(d, 'policy4-ingress')).toBeLessThan(packetsOf(d, 'policy4-ingress'));
  });
});
