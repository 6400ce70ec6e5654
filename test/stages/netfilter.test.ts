/**
 * Netfilter hooks with conntrack and kube-proxy's iptables rules: ClusterIP DNAT on the client's
 * node, un-DNAT of the reply there, REJECT for a Service without endpoints, INVALID dropped by
 * KUBE-FORWARD.
 *
 *   pod-a 10.244.1.5 [node-1] -> 10.96.5.20:80 --DNAT--> backend-a 10.244.2.8:8080 [node-2]
 *                                                     or backend-b 10.244.3.9:8080 [node-3]
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, afterAll } from 'vitest';
import * as CT from '../../src/conntrack/constants.js';
import { formatConntrackList } from '../../src/conntrack/format.js';
import { buildFrame } from '../../src/packet/build.js';
import { TcpFlag } from '../../src/packet/view.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { ENGINES, nativeEngine, nativeRuns, Harness, checksumsValid, dropName, framesAt, ip, parse, type EngineFactory } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';

const VIP = '10.96.5.20';

const syn = (sport: number, dport: number) => [{ type: 'tcp' as const, srcPort: sport, dstPort: dport, seq: 1000, flags: TcpFlag.SYN, mss: 1460 }];

/** pod-a SYN to the ClusterIP; returns which backend got it and the frame it got. */
function connect(engine: EngineFactory): { h: Harness; backend: string; got: Uint8Array } {
  const h = new Harness({ engine });
  const out = h.one(podFrame(h, 'pod-a', VIP, syn(40000, 80)), { t: 0 });
  expect(out.results.map((r) => r.verdict)).toEqual([1]);
  for (const backend of ['backend-a', 'backend-b']) {
    const got = framesAt(out, h, `default/${backend} eth0`, 0);
    if (got.length) return { h, backend, got: got[0].bytes };
  }
  throw new Error('the SYN reached no backend');
}

describe.each(ENGINES)('netfilter ($name engine)', (engine) => {
  // The native runs really ran native stages (an untraced vector; a traced one would run TypeScript).
  afterAll(() => {
    if (engine === nativeEngine) expect(nativeRuns.packets(), 'packets the native stages took').toBeGreaterThan(0);
  });
  it('pod -> ClusterIP is DNATed on node-1 to a backend :8080, the same one on every run (seeded)', () => {
    const first = connect(engine);
    const L = parse(first.got).layers[0];
    expect(L.dst4).toBe(ip(first.h.pod(first.backend).ip));
    expect([L.dstPort, L.srcPort]).toEqual([8080, 40000]);
    expect(L.src4).toBe(ip(first.h.pod('pod-a').ip));
    expect(checksumsValid(first.got, L)).toBe(true);
    for (let i = 0; i < 3; i++) expect(connect(engine).backend).toBe(first.backend);
  });

  it('the reply is un-DNATed on node-1: pod-a sees 10.96.5.20:80 as the source; node-1\'s entry is DST_NAT', () => {
    const { h, backend } = connect(engine);
    const b = h.pod(backend);
    const synAck = podFrame(h, backend, h.pod('pod-a').ip, [{ type: 'tcp', srcPort: 8080, dstPort: 40000, seq: 5000, ack: 1001, flags: TcpFlag.SYN | TcpFlag.ACK, mss: 1460 }]);
    const out = h.one(synAck, { t: 0.001 });
    expect(out.results.map((r) => r.verdict)).toEqual([1]);
    const got = framesAt(out, h, 'default/pod-a eth0', 0);
    expect(got).toHaveLength(1);
    const L = parse(got[0].bytes).layers[0];
    expect([L.src4, L.srcPort, L.dst4, L.dstPort]).toEqual([ip(VIP), 80, ip(h.pod('pod-a').ip), 40000]);
    expect(L.tcpFlags).toBe(TcpFlag.SYN | TcpFlag.ACK);
    expect(checksumsValid(got[0].bytes, L)).toBe(true);
    const ctx = h.dp.contexts[0];
    const entries = ctx.conntrack.entries(0.001);
    const natted = entries.filter((e) => (ctx.conntrack.status[e] & CT.IPS_DST_NAT) !== 0);
    expect(natted).toHaveLength(1);
    const lines = formatConntrackList(ctx.conntrack, 0.001);
    expect(lines.some((l) => l.includes(`src=10.244.1.5 dst=${VIP} sport=40000 dport=80`) && l.includes(`src=${b.ip} dst=10.244.1.5 sport=8080 dport=40000`))).toBe(true);
  });

  /** The default scenario plus a Service whose selector matches no pod (a kube-proxy REJECT rule, no DNAT). */
  const emptyService = (base: string, vip: string): string => `${base}
---
apiVersion: v1
kind: Service
metadata:
  name: empty
  namespace: default
spec:
  clusterIP: ${vip}
  selector:
    app: nothing-has-this
  ports:
    - port: 80
      protocol: TCP
`;
  /** Two nodes; the service range sits inside the connected underlay /24, so a VIP has an on-link route. */
  const ROUTED_VIP = emptyService(`apiVersion: dpemu.dev/v1
kind: Cluster
metadata: { name: routed-vip }
spec:
  serviceCIDR: 10.0.1.128/25
  nodes:
    - { name: node-1, ip: 10.0.1.5, podCIDR: 10.244.1.0/24 }
    - { name: node-2, ip: 10.0.1.6, podCIDR: 10.244.2.0/24 }
---
apiVersion: v1
kind: Pod
metadata: { name: pod-a, namespace: default }
spec: { nodeName: node-1 }
status: { podIP: 10.244.1.5 }
`, '10.0.1.200');

  it('a Service without endpoints, VIP unrouted (no default route, as on the kernel test bed): ICMP 3/0, never REJECT', () => {
    // ../shared/KERNEL-FACTS.md: the FIB lookup fails before filter FORWARD's KUBE-SERVICES REJECT is reached.
    const h = new Harness({ engine, scenario: emptyService(readFileSync(defaultScenarioPath(), 'utf8'), '10.96.7.7') });
    const out = h.one(podFrame(h, 'pod-a', '10.96.7.7', syn(41000, 80)));
    expect(out.results.filter((r) => !r.generated).map(dropName)).toEqual(['FIB_LOOKUP_FAILED']);
    const L = parse(framesAt(out, h, 'default/pod-a eth0', 0)[0].bytes).layers[0];
    expect([L.icmpType, L.icmpCode]).toEqual([3, 0]);
    expect(h.dp.contexts[0].conntrack.entries(0)).toHaveLength(0);
  });

  it('a Service without endpoints whose VIP is routed: REJECTED by KUBE-SERVICES and ICMP port unreachable (3/3)', () => {
    // The service range is put inside node-1's connected underlay /24 so the VIP has a route (on-link via eth0).
    const h = new Harness({ engine, scenario: ROUTED_VIP });
    const f = podFrame(h, 'pod-a', '10.0.1.200', syn(41000, 80));
    const out = h.one(f);
    expect(out.results.filter((r) => !r.generated).map((r) => [dropName(r), r.stage, r.node])).toEqual([['REJECTED', 'nf4-forward', 0]]);
    const got = framesAt(out, h, 'default/pod-a eth0', 0);
    expect(got).toHaveLength(1);
    const L = parse(got[0].bytes).layers[0];
    expect([L.icmpType, L.icmpCode, L.src4, L.dst4]).toEqual([3, 3, ip(h.node('node-1').ip), ip(h.pod('pod-a').ip)]);
    expect(checksumsValid(got[0].bytes, L)).toBe(true);
    // Quoted as the node saw it in FORWARD: TTL already 63, the rest as sent.
    const q = got[0].bytes.subarray(L.l4Offset + 8);
    expect(q.length).toBe(f.length - 14);
    expect(Buffer.from(q.subarray(12)).equals(Buffer.from(f.subarray(14 + 12)))).toBe(true);
    expect(h.drops('node-1').REJECTED).toBe(1);
  });

  describe('a node\'s own packet to its own address: OUTPUT and POSTROUTING, then the loopback to INPUT', () => {
    const NODEPORT = `---
apiVersion: v1
kind: Service
metadata: {name: web-np, namespace: default}
spec:
  type: NodePort
  selector: {app: backend}
  ports: [{port: 80, targetPort: 8080, nodePort: 30007}]
`;
    // Sent by node-2's stack: an unknown source MAC with the node's address (frame-input attaches it by IP, LOCAL_OUT).
    const fromNode2 = (h: Harness, dport: number): Uint8Array =>
      buildFrame([{ type: 'eth', src: '02:aa:aa:aa:aa:02', dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src: h.node('node-2').ip, dst: h.node('node-2').ip }, ...syn(42000, dport)]);

    it('curl <own node IP>:<nodePort>: nat OUTPUT (KUBE-NODEPORTS) DNATs it to a backend and it is masqueraded', () => {
      const h = new Harness({ engine, scenario: readFileSync(defaultScenarioPath(), 'utf8') + NODEPORT });
      const out = h.one(fromNode2(h, 30007));
      expect(out.results.map((r) => r.verdict)).toEqual([1]);
      const ct = h.dp.contexts[1]!.conntrack;
      const lines = formatConntrackList(ct, 1_700_000_000);
      const entry = lines.find((l) => / dport=30007 /.test(l));
      expect(entry, lines.join('\n')).toMatch(/src=10\.0\.1\.6 dst=10\.0\.1\.6 sport=42000 dport=30007 \[UNREPLIED\] src=(10\.244\.2\.8|10\.244\.3\.9) dst=10\.0\.1\.6 sport=8080 /);
      const backend = /\[UNREPLIED\] src=(\S+)/.exec(entry!)![1] === '10.244.2.8' ? 'backend-a' : 'backend-b';
      const got = framesAt(out, h, `default/${backend} eth0`, 0);
      expect(got).toHaveLength(1);
      const L = parse(got[0]!.bytes).layers[0]!;
      expect([L.dst4, L.dstPort]).toEqual([ip(h.pod(backend).ip), 8080]);
      expect(L.src4).not.toBe(0);
      expect(checksumsValid(got[0]!.bytes, L)).toBe(true);
      if (engine.traces !== false) expect(out.traces.some((t) => t.stage === 'nf4-output' && t.decision === 'DNAT')).toBe(true);
    });

    it('to a port nothing translates: confirmed at POSTROUTING, through filter INPUT, delivered to the node', () => {
      const h = new Harness({ engine });
      const out = h.one(fromNode2(h, 22));
      expect(out.results.map((r) => [r.verdict, r.stage, r.node])).toEqual([[1, 'ip4-local', 1]]);
      const rows = h.counters().filter((r) => r.node === 'node-2' && r.packets > 0).map((r) => r.stage);
      expect(rows).toEqual(expect.arrayContaining(['ip4-lookup', 'nf4-output', 'nf4-postrouting', 'nf4-input', 'ip4-local']));
      expect(rows).not.toContain('ip4-output');
      expect(formatConntrackList(h.dp.contexts[1]!.conntrack, 1_700_000_000).some((l) => /SYN_SENT src=10\.0\.1\.6 dst=10\.0\.1\.6 sport=42000 dport=22 \[UNREPLIED\]/.test(l))).toBe(true);
    });
  });

  it('a SYN-ACK with no conntrack entry is INVALID: CT_INVALID dropped by KUBE-FORWARD on the forwarding node', () => {
    const h = new Harness({ engine });
    const f = podFrame(h, 'pod-a', h.pod('backend-a').ip, [{ type: 'tcp', srcPort: 42000, dstPort: 8080, seq: 1, ack: 77, flags: TcpFlag.SYN | TcpFlag.ACK }]);
    const out = h.one(f);
    expect(out.results.map((r) => [dropName(r), r.stage, r.node])).toEqual([['CT_INVALID', 'nf4-forward', 0]]);
    if (engine.traces !== false) expect(out.traces.some((t) => t.stage === 'nf4-forward' && /ctstate INVALID -j DROP/.test(t.detail))).toBe(true);
    expect(h.drops('node-1').CT_INVALID).toBe(1);
  });
});
