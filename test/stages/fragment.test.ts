/**
 * ip4-defrag + ip4-output: a node with conntrack reassembles the pod's fragments and re-fragments
 * the datagram for the 1450-byte tunnel (1444 + 84); an incomplete datagram expires after 30 s.
 */
import { describe, expect, it, afterAll } from 'vitest';
import { ENGINES, nativeEngine, nativeRuns, Harness, checksumsValid, dropName, framesAt, parse } from '../helpers/dataplane-harness.js';
import { podFrame, udp } from '../helpers/frames.js';

/** Splits a pod-built IPv4 frame (20-byte header) into fragments of at most `mtu` bytes, as the pod's stack does. */
function podFragments(frame: Uint8Array, mtu: number): Uint8Array[] {
  const hdr = frame.subarray(0, 34);
  const payload = frame.subarray(34);
  const chunk = (mtu - 20) & ~7;
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const piece = payload.subarray(off, Math.min(payload.length, off + chunk));
    const f = new Uint8Array(34 + piece.length);
    f.set(hdr);
    f.set(piece, 34);
    const more = off + chunk < payload.length;
    const total = 20 + piece.length;
    f[16] = total >> 8;
    f[17] = total & 255;
    const fw = (more ? 0x2000 : 0) | (off >> 3);
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

describe.each(ENGINES)('fragmentation ($name engine)', (engine) => {
  // The native runs really ran native stages (an untraced vector; a traced one would run TypeScript).
  afterAll(() => {
    if (engine === nativeEngine) expect(nativeRuns.packets(), 'packets the native stages took').toBeGreaterThan(0);
  });
  it('a 1508-byte datagram sent as 1500 + 28 is reassembled on node-1 and re-fragmented 1444 + 84 for flannel.1', () => {
    const h = new Harness({ engine });
    const payload = Uint8Array.from({ length: 1480 }, (_, i) => i & 255);
    const whole = podFrame(h, 'pod-a', h.pod('backend-b').ip, udp(7000, 7001), payload, { id: 0x4242 });
    expect(whole.length - 14).toBe(1508);
    const frags = podFragments(whole, 1500);
    expect(frags.map((f) => f.length - 14)).toEqual([1500, 28]);
    for (const f of frags) h.send(f, { t: 0 });
    const out = h.run();
    // One fragment waits for its sibling on node-1, and one of the re-fragmented pieces on node-3.
    expect(out.results.filter((r) => r.verdict === 6).map((r) => [r.node, r.stage])).toEqual([[0, 'ip4-defrag'], [2, 'ip4-defrag']]);
    const checkPieces = (label: string): void => {
      const got = framesAt(out, h, label, label.endsWith('flannel.1') ? 1 : 0);
      expect(got.map((f) => f.bytes.length - 14)).toEqual([1444, 84]);
      const views = got.map((f) => parse(f.bytes).layers[0]);
      expect(views.map((L) => [L.ipId, L.fragOffset, L.ipMf, L.ipDf])).toEqual([[0x4242, 0, 1, 0], [0x4242, 1424, 0, 0]]);
      for (let i = 0; i < 2; i++) expect(checksumsValid(got[i].bytes, views[i])).toBe(true);
      // The pieces carry the original UDP header + payload, in order.
      const joined = new Uint8Array(1488);
      joined.set(got[0].bytes.subarray(34), 0);
      joined.set(got[1].bytes.subarray(34), 1424);
      expect(Buffer.from(joined).equals(Buffer.from(whole.subarray(34)))).toBe(true);
    };
    checkPieces('node-1 flannel.1');
    // node-3 reassembles again and hands backend-b the pieces as the tunnel carried them (frag_max_size 1444).
    checkPieces('default/backend-b eth0');
    expect(h.drops('node-1')).toEqual({});
  });

  it('an incomplete datagram is dropped as FRAG_REASSEMBLY_TIMEOUT once 30 s of packet time have passed', () => {
    const h = new Harness({ engine });
    const whole = podFrame(h, 'pod-a', h.pod('backend-b').ip, udp(7000, 7001), new Uint8Array(1480), { id: 0x99 });
    const [first] = podFragments(whole, 1500);
    let out = h.one(first, { t: 0 });
    expect(out.results.map((r) => [r.verdict, r.stage])).toEqual([[6, 'ip4-defrag']]);
    // Any later packet through node-1's ip4-defrag runs the expiry.
    out = h.one(podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(1, 2)), { t: 29.5 });
    expect(h.drops('node-1').FRAG_REASSEMBLY_TIMEOUT).toBeUndefined();
    out = h.one(podFrame(h, 'pod-a', h.pod('backend-a').ip, udp(1, 3)), { t: 30.5 });
    expect(out.results.map(dropName)).toEqual(['']);
    expect(h.drops('node-1').FRAG_REASSEMBLY_TIMEOUT).toBe(1);
  });
});
