/**
 * vxlan4-encap / vxlan4-decap (and `tunnel.mode: native`): outer headers as Linux builds them,
 * and vxlan_rcv's checks on frames arriving at a node's NIC.
 *
 *   node-1 eth0 02:00:0a:00:01:05 10.0.1.5 ---- UDP 8472, VNI 1 ---- node-2 eth0 02:00:0a:00:01:06 10.0.1.6
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, afterAll } from 'vitest';
import { ChecksumStatus, verifyL4 } from '../../src/packet/checksum.js';
import { TunnelKind } from '../../src/packet/view.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { ENGINES, nativeEngine, nativeRuns, Harness, checksumsValid, dropName, framesAt, ip, mac, parse } from '../helpers/dataplane-harness.js';
import { podFrame, udp, vxlanFromNode } from '../helpers/frames.js';

const DEFAULT = readFileSync(defaultScenarioPath(), 'utf8');

/** The default scenario with its tunnel block edited. */
function withTunnel(edit: (tunnelBlock: string) => string): string {
  const block = /  tunnel:\n(    .*\n)+/.exec(DEFAULT)![0];
  return DEFAULT.replace(block, edit(block));
}

describe.each(ENGINES)('VXLAN ($name engine)', (engine) => {
  // The native runs really ran native stages (an untraced vector; a traced one would run TypeScript).
  afterAll(() => {
    if (engine === nativeEngine) expect(nativeRuns.packets(), 'packets the native stages took').toBeGreaterThan(0);
  });
  it('encap: outer Ethernet/IPv4/UDP/VXLAN exactly as Linux builds them', () => {
    const h = new Harness({ engine });
    const [n1, n2] = [h.node('node-1'), h.node('node-2')];
    const f = podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5000, 8080), new Uint8Array(11).fill(7), { ttl: 64 });
    const out = h.one(f);
    const got = framesAt(out, h, 'node-1 eth0', 1);
    expect(got).toHaveLength(1);
    const b = got[0].bytes;
    expect(b.length).toBe(f.length + 50);
    const v = parse(b);
    const O = v.layers[0];
    expect(mac(b, 0)).toBe(n2.mac);
    expect(mac(b, 6)).toBe(n1.mac);
    expect([O.ipTos, O.ipDf, O.ipMf, O.ipTtl, O.ipProto]).toEqual([0, 0, 0, 64, 17]);
    expect([O.src4, O.dst4]).toEqual([ip(n1.ip), ip(n2.ip)]);
    expect(O.dstPort).toBe(8472);
    expect(O.srcPort).toBeGreaterThanOrEqual(32768);
    expect(O.srcPort).toBeLessThanOrEqual(60999);
    expect(O.l4Checksum).not.toBe(0);
    expect(verifyL4(b, O)).toBe(ChecksumStatus.GOOD);
    expect(checksumsValid(b, O)).toBe(true);
    expect(O.udpLength).toBe(8 + 8 + f.length);
    expect([O.tunnel, O.tunnelFlags, O.vni]).toEqual([TunnelKind.VXLAN, 0x08, 1]);
    // Reserved bytes of the VXLAN header are zero.
    const vx = O.tunnelOffset;
    expect([b[vx + 1], b[vx + 2], b[vx + 3], b[vx + 7]]).toEqual([0, 0, 0, 0]);
    const I = v.layers[1];
    expect(mac(b, I.l2Offset)).toBe(n2.vtepMac);
    expect(mac(b, I.l2Offset + 6)).toBe(n1.vtepMac);
    expect(I.ipTtl).toBe(63);
    expect(checksumsValid(b, I)).toBe(true);
    // Decap on node-2 and delivery: backend-a gets the inner datagram with TTL 62.
    expect(framesAt(out, h, 'node-2 flannel.1', 0)).toHaveLength(1);
    expect(parse(framesAt(out, h, 'default/backend-a eth0', 0)[0].bytes).layers[0].ipTtl).toBe(62);
  });

  it('the outer TOS carries the inner ECN field, CE as ECT(0), never the DSCP (ip_tunnel_ecn_encap, seen on this kernel)', () => {
    const h = new Harness({ engine });
    // Inner TOS -> outer TOS as a Linux VXLAN device with tos 0 sent them in network namespaces here.
    const cases: [number, number][] = [[0xc0, 0x00], [0x01, 0x01], [0x02, 0x02], [0x03, 0x02], [0xc2, 0x02], [0xb8, 0x00], [0xbb, 0x02]];
    cases.forEach(([inner, outer], i) => {
      const out = h.one(podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5100 + i, 8080), new Uint8Array(8), { tos: inner }));
      const v = parse(framesAt(out, h, 'node-1 eth0', 1)[0]!.bytes);
      expect([v.layers[0]!.ipTos, v.layers[1]!.ipTos], `inner 0x${inner.toString(16)}`).toEqual([outer, inner]);
      expect(checksumsValid(framesAt(out, h, 'node-1 eth0', 1)[0]!.bytes, v.layers[0]!)).toBe(true);
      // Decap leaves the inner TOS as it was.
      expect(parse(framesAt(out, h, 'default/backend-a eth0', 0)[0]!.bytes).layers[0]!.ipTos).toBe(inner);
    });
  });

  it('tunnel.udpCsum false (iproute2 noudpcsum): the outer UDP checksum is 0 and node-2 still decapsulates', () => {
    const h = new Harness({ engine, scenario: withTunnel((b) => b.replace('vni: 1', 'vni: 1\n    udpCsum: false')) });
    const out = h.one(podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5200, 8080), new Uint8Array(33).fill(3)));
    const b = framesAt(out, h, 'node-1 eth0', 1)[0]!.bytes;
    const O = parse(b).layers[0]!;
    expect(O.l4Checksum).toBe(0);
    expect(verifyL4(b, O)).toBe(ChecksumStatus.NOT_CHECKABLE); // UDP checksum 0: none to check
    expect(checksumsValid(b, O)).toBe(true);
    expect(out.results.map((r) => r.verdict)).toEqual([1]);
    expect(framesAt(out, h, 'default/backend-a eth0', 0)).toHaveLength(1);
  });

  it('the outer UDP source port is stable per flow and direction', () => {
    const h = new Harness({ engine });
    const send = (): number => parse(framesAt(h.one(podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5000, 8080))), h, 'node-1 eth0', 1)[0].bytes).layers[0].srcPort;
    expect(send()).toBe(send());
  });

  it('tunnel.port 4789: encap uses 4789 and node-2 decaps it', () => {
    const h = new Harness({ engine, scenario: withTunnel((b) => b.replace('port: 8472', 'port: 4789')) });
    expect(h.cluster.tunnel.port).toBe(4789);
    const out = h.one(podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5000, 8080)));
    const O = parse(framesAt(out, h, 'node-1 eth0', 1)[0].bytes).layers[0];
    expect(O.dstPort).toBe(4789);
    expect(framesAt(out, h, 'default/backend-a eth0', 0)).toHaveLength(1);
    expect(out.results.map((r) => r.verdict)).toEqual([1]);
  });

  it('a frame a snaplen cut walks across the tunnel as it walks node-1 (not malformed at the far decap)', () => {
    const h = new Harness({ engine });
    const f = podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5000, 8080), new Uint8Array(200).fill(7));
    const out = h.one(f.subarray(0, 60), { wireLen: f.length });
    expect(out.results.map((r) => [r.verdict, r.stage])).toEqual([[1, 'veth-xmit']]);
    const got = framesAt(out, h, 'default/backend-a eth0', 0);
    expect(got.map((g) => [g.bytes.length, g.wireLen])).toEqual([[60, f.length]]);
  });

  it('a VXLAN frame captured on the underlay and cut by the snaplen is decapsulated and delivered, cut', () => {
    const h = new Harness({ engine });
    const f = vxlanFromNode(h, 'node-1', 'node-2', { src: h.pod('pod-a').ip, dst: h.pod('backend-a').ip, l4: udp(5000, 8080), payload: new Uint8Array(300).fill(3) });
    const out = h.one(f.subarray(0, 120), { at: 'node-2', wireLen: f.length });
    expect(out.results.map((r) => [r.verdict, r.stage])).toEqual([[1, 'veth-xmit']]);
    // The inner frame: 120 - 50 outer bytes captured, the rest missing on the wire as before.
    expect(framesAt(out, h, 'default/backend-a eth0', 0).map((g) => [g.bytes.length, g.wireLen])).toEqual([[70, f.length - 50]]);
    // Cut inside the VXLAN header itself: nothing to decapsulate; the parser already says so at input.
    const head = h.one(f.subarray(0, 45), { at: 'node-2', wireLen: f.length });
    expect(head.results.map((r) => [dropName(r), r.stage])).toEqual([['MALFORMED_FRAME', 'frame-input']]);
  });

  describe('decap (vxlan_rcv) of a frame arriving at node-2 eth0', () => {
    const inner = (h: Harness): { src: string; dst: string; l4: ReturnType<typeof udp> } => ({ src: h.pod('pod-a').ip, dst: h.pod('backend-a').ip, l4: udp(5000, 8080) });

    it('a well-formed frame is decapsulated and delivered (the baseline of the cases below)', () => {
      const h = new Harness({ engine });
      const out = h.one(vxlanFromNode(h, 'node-1', 'node-2', inner(h)), { at: 'node-2' });
      expect(out.results.map((r) => [r.verdict, r.stage])).toEqual([[1, 'veth-xmit']]);
      expect(framesAt(out, h, 'default/backend-a eth0', 0)).toHaveLength(1);
    });

    it('unknown VNI: INVALID_VNI', () => {
      const h = new Harness({ engine });
      const out = h.one(vxlanFromNode(h, 'node-1', 'node-2', inner(h), { vni: 7 }), { at: 'node-2' });
      expect(out.results.map((r) => [dropName(r), r.stage, r.node])).toEqual([['INVALID_VNI', 'vxlan4-decap', 1]]);
    });

    it('flags other than 0x08: INVALID_VXLAN_FLAGS', () => {
      const h = new Harness({ engine });
      const out = h.one(vxlanFromNode(h, 'node-1', 'node-2', inner(h), { flags: 0x0c }), { at: 'node-2' });
      expect(out.results.map((r) => [dropName(r), r.stage])).toEqual([['INVALID_VXLAN_FLAGS', 'vxlan4-decap']]);
      expect(h.drops('node-2').INVALID_VXLAN_FLAGS).toBe(1);
    });

    it('a wrong outer UDP checksum: INVALID_PACKET_DROPPED', () => {
      const h = new Harness({ engine });
      const good = vxlanFromNode(h, 'node-1', 'node-2', inner(h));
      const c = parse(good).layers[0].l4Checksum;
      const out = h.one(vxlanFromNode(h, 'node-1', 'node-2', inner(h), { udpChecksum: c ^ 0x0101 }), { at: 'node-2' });
      expect(out.results.map((r) => [dropName(r), r.stage])).toEqual([['INVALID_PACKET_DROPPED', 'vxlan4-decap']]);
    });

    it('a zero outer UDP checksum (noudpcsum sender) is accepted', () => {
      const h = new Harness({ engine });
      const out = h.one(vxlanFromNode(h, 'node-1', 'node-2', inner(h), { udpChecksum: 0 }), { at: 'node-2' });
      expect(out.results.map((r) => r.verdict)).toEqual([1]);
    });
  });

  it('tunnel.mode native: routed via the node IP on eth0, no encapsulation, TTL 62 at the pod', () => {
    const h = new Harness({ engine, scenario: withTunnel((b) => b.replace('mode: vxlan', 'mode: native')) });
    expect(h.cluster.tunnel.mode).toBe('native');
    const [n1, n2] = [h.node('node-1'), h.node('node-2')];
    const f = podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(5000, 8080), new Uint8Array(5));
    const out = h.one(f);
    expect(out.results.map((r) => [r.verdict, r.stage])).toEqual([[1, 'veth-xmit']]);
    const wire = framesAt(out, h, 'node-1 eth0', 1);
    expect(wire).toHaveLength(1);
    const b = wire[0].bytes;
    expect(b.length).toBe(f.length);
    expect(mac(b, 0)).toBe(n2.mac);
    expect(mac(b, 6)).toBe(n1.mac);
    const L = parse(b).layers[0];
    expect([L.src4, L.dst4, L.ipTtl, L.tunnel]).toEqual([ip(h.pod('pod-a').ip), ip(h.pod('backend-a').ip), 63, TunnelKind.NONE]);
    expect(checksumsValid(b, L)).toBe(true);
    expect(h.dp.devices.all.some((d) => d.name === 'flannel.1')).toBe(false);
    const got = framesAt(out, h, 'default/backend-a eth0', 0);
    expect(got).toHaveLength(1);
    expect(parse(got[0].bytes).layers[0].ipTtl).toBe(62);
    if (engine.traces !== false) expect(out.traces.some((t) => t.stage === 'ip4-lookup' && t.detail === `10.244.2.0/24 via ${n2.ip} dev eth0`)).toBe(true);
  });
});
