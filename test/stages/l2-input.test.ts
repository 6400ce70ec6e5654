/**
 * frame-input, veth-xmit, ethernet-input and arp-input: (input frame, expected frame, expected end).
 *
 *   pod-a eth0 0a:58:0a:f4:01:05 --veth-- cali5e1c4d6c68c ee:ee:ee:ee:ee:ee [node-1] eth0 02:00:0a:00:01:05
 */
import { describe, expect, it, afterAll } from 'vitest';
import { buildFrame } from '../../src/packet/build.js';
import { ParseError } from '../../src/packet/errors.js';
import { L3Kind } from '../../src/packet/view.js';
import { ENGINES, nativeEngine, nativeRuns, Harness, dropName, framesAt, ip, mac, parse } from '../helpers/dataplane-harness.js';
import { HOST_VETH_MAC, arpRequest, podFrame, udp } from '../helpers/frames.js';

describe.each(ENGINES)('L2 input stages ($name engine)', (engine) => {
  // The native runs really ran native stages (an untraced vector; a traced one would run TypeScript).
  afterAll(() => {
    if (engine === nativeEngine) expect(nativeRuns.packets(), 'packets the native stages took').toBeGreaterThan(0);
  });
  const harness = (): Harness => new Harness({ engine });

  describe('veth + proxy ARP', () => {
    it('answers a pod\'s who-has 169.254.1.1 from ee:ee:ee:ee:ee:ee, delivered back to the pod', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const out = h.one(arpRequest(a.mac, a.ip, '169.254.1.1'));
      expect(out.results.map((r) => [r.generated, r.verdict, r.stage])).toEqual([[false, 1, 'arp-input'], [true, 1, 'veth-xmit']]);
      const got = framesAt(out, h, 'default/pod-a eth0', 0);
      expect(got).toHaveLength(1);
      const b = got[0].bytes;
      expect(b.length).toBe(42);
      expect(mac(b, 0)).toBe(a.mac);
      expect(mac(b, 6)).toBe(HOST_VETH_MAC);
      expect((b[12] << 8) | b[13]).toBe(0x0806);
      const L = parse(b).layers[0];
      expect(L.l3Kind).toBe(L3Kind.ARP);
      expect([L.arpHtype, L.arpPtype, b[18], b[19], L.arpOp]).toEqual([1, 0x0800, 6, 4, 2]);
      expect(mac(b, L.arpShaOffset)).toBe(HOST_VETH_MAC);
      expect(L.src4).toBe(ip('169.254.1.1'));
      expect(mac(b, L.arpThaOffset)).toBe(a.mac);
      expect(L.dst4).toBe(ip(a.ip));
    });

    it('proxy-answers for an address the node routes out of another device (a remote pod)', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const out = h.one(arpRequest(a.mac, a.ip, h.pod('backend-a').ip));
      const reply = framesAt(out, h, 'default/pod-a eth0', 0);
      expect(reply).toHaveLength(1);
      expect(parse(reply[0].bytes).layers[0].src4).toBe(ip(h.pod('backend-a').ip));
    });

    it('leaves an unroutable address unanswered: ARP_NOT_ANSWERED, counted on node-1 arp-input', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const out = h.one(arpRequest(a.mac, a.ip, '192.168.77.1'));
      expect(out.results).toHaveLength(1);
      expect(dropName(out.results[0])).toBe('ARP_NOT_ANSWERED');
      expect(out.results[0].stage).toBe('arp-input');
      expect(framesAt(out, h, 'default/pod-a eth0', 0)).toHaveLength(0);
      expect(h.drops('node-1').ARP_NOT_ANSWERED).toBe(1);
    });

    it('the node NIC answers ARP for its own address, and the asking node consumes the reply', () => {
      const h = harness();
      const n1 = h.node('node-1');
      const n2 = h.node('node-2');
      const out = h.one(arpRequest(n2.mac, n2.ip, n1.ip), { at: 'node-1' });
      const sent = framesAt(out, h, 'node-1 eth0', 1);
      expect(sent).toHaveLength(1);
      const b = sent[0].bytes;
      expect(mac(b, 0)).toBe(n2.mac);
      expect(mac(b, 6)).toBe(n1.mac);
      const L = parse(b).layers[0];
      expect(L.arpOp).toBe(2);
      expect(mac(b, L.arpShaOffset)).toBe(n1.mac);
      expect(L.src4).toBe(ip(n1.ip));
      expect(mac(b, L.arpThaOffset)).toBe(n2.mac);
      expect(L.dst4).toBe(ip(n2.ip));
      expect(framesAt(out, h, 'node-2 eth0', 0)).toHaveLength(1);
      expect(out.results.every((r) => r.verdict === 1)).toBe(true);
    });

    it('a node\'s broadcast ARP attached by its sender floods the underlay segment: node-1 answers, node-3 does not', () => {
      const h = harness();
      const [n1, n2] = [h.node('node-1'), h.node('node-2')];
      const out = h.one(arpRequest(n2.mac, n2.ip, n1.ip));
      expect(framesAt(out, h, 'node-2 eth0', 1).map((f) => mac(f.bytes, 0))).toEqual(['ff:ff:ff:ff:ff:ff']);
      expect(framesAt(out, h, 'node-1 eth0', 0).map((f) => mac(f.bytes, 0))).toEqual(['ff:ff:ff:ff:ff:ff']);
      expect(framesAt(out, h, 'node-3 eth0', 0).map((f) => mac(f.bytes, 0))).toEqual(['ff:ff:ff:ff:ff:ff']);
      const reply = framesAt(out, h, 'node-1 eth0', 1);
      expect(reply).toHaveLength(1);
      expect(parse(reply[0].bytes).layers[0].arpOp).toBe(2);
      // node-2 receives the reply (consumed: static neighbours); node-3 leaves the request unanswered.
      expect(out.results.map((r) => [r.node, r.verdict, dropName(r), r.stage]).sort()).toEqual([
        [0, 1, '', 'arp-input'],
        [1, 1, '', 'arp-input'],
        [2, 2, 'ARP_NOT_ANSWERED', 'arp-input'],
      ]);
    });

    it('the node NIC does not answer for another node\'s address', () => {
      const h = harness();
      const n2 = h.node('node-2');
      const out = h.one(arpRequest(n2.mac, n2.ip, h.node('node-3').ip), { at: 'node-1' });
      expect(out.results.map(dropName)).toEqual(['ARP_NOT_ANSWERED']);
    });
  });

  describe('ethernet-input', () => {
    it('unicast to another MAC on the host veth is PACKET_OTHERHOST: NOT_FOR_THIS_HOST', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const f = buildFrame([{ type: 'eth', src: a.mac, dst: '02:aa:bb:cc:dd:ee' }, { type: 'ipv4', src: a.ip, dst: h.pod('backend-a').ip }, ...udp(1, 2)]);
      const out = h.one(f);
      expect(out.results.map((r) => [dropName(r), r.stage, r.node])).toEqual([['NOT_FOR_THIS_HOST', 'ethernet-input', 0]]);
      expect(h.drops('node-1').NOT_FOR_THIS_HOST).toBe(1);
    });

    it('an IPv6 frame is UNSUPPORTED_L3_PROTOCOL (IPv6 disabled on the nodes)', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const f = buildFrame([{ type: 'eth', src: a.mac, dst: HOST_VETH_MAC }, { type: 'ipv6', src: 'fd00::5', dst: 'fd00::8' }, ...udp(1, 2)]);
      const out = h.one(f);
      expect(out.results.map((r) => [dropName(r), r.stage])).toEqual([['UNSUPPORTED_L3_PROTOCOL', 'ethernet-input']]);
    });
  });

  describe('frame-input', () => {
    it('a malformed frame is MALFORMED_FRAME carrying the parse error (IPV4_TRUNCATED), named in the trace', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const f = podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(1, 2)).subarray(0, 14 + 12);
      const out = h.one(f);
      expect(out.results).toHaveLength(1);
      const r = out.results[0];
      expect([dropName(r), r.stage, r.parseError]).toEqual(['MALFORMED_FRAME', 'frame-input', ParseError.IPV4_TRUNCATED]);
      if (engine.traces !== false) expect(out.traces.some((t) => t.decision === 'drop IPV4_TRUNCATED')).toBe(true);
      expect(a.mac).toBeTruthy();
    });

    it('a frame from nobody the scenario knows is UNKNOWN_SENDER', () => {
      const h = harness();
      const f = buildFrame([{ type: 'eth', src: '02:99:99:99:99:99', dst: HOST_VETH_MAC }, { type: 'ipv4', src: '192.168.50.5', dst: h.pod('pod-a').ip }, ...udp(1, 2)]);
      const out = h.one(f);
      expect(out.results.map((r) => [dropName(r), r.stage])).toEqual([['UNKNOWN_SENDER', 'frame-input']]);
    });

    it('a frame attached by source IP gets its Ethernet header re-derived for the pod (L2_REWRITTEN)', () => {
      const h = harness();
      const a = h.pod('pod-a');
      const f = buildFrame([{ type: 'eth', src: '02:12:34:56:78:9a', dst: '02:00:00:00:00:01' }, { type: 'ipv4', src: a.ip, dst: h.pod('backend-a').ip }, ...udp(1000, 2000)]);
      const out = h.one(f);
      expect(out.results).toHaveLength(1);
      expect(out.results[0].l2Rewritten).toBe(true);
      expect(out.results[0].verdict).toBe(1);
      const sent = framesAt(out, h, 'default/pod-a eth0', 1);
      expect(sent).toHaveLength(1);
      expect(mac(sent[0].bytes, 0)).toBe(HOST_VETH_MAC);
      expect(mac(sent[0].bytes, 6)).toBe(a.mac);
      expect(framesAt(out, h, 'default/backend-a eth0', 0)).toHaveLength(1);
    });
  });
});
