import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { ipv4ToString } from '../../src/packet/format.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { framesAt, Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { podFrame } from '../helpers/frames.js';
import { assertNativeBuilt, digest, type RunDigest } from './parity-helpers.js';

/**
 * A confirm that reaps an expired entry, inside one POSTROUTING call.
 *
 * ConntrackTable.confirm() frees an *expired* entry that holds one of the new entry's tuples. So a
 * later packet of that expired entry, in the same call, must see it gone (no un-NAT), as the TS stage
 * alone gives. The native nf4-postrouting defers packets of entries expired at the call's time for this
 * (postCheck); without that it would take the packet first and keep the entry's reverse DNAT.
 *
 * Building the clash (backend-a moved to node-1, beside pod-a):
 *   X: pod-a:sp -> VIP:80 DNATed to backend-a:8080 (SYN; SYN_SENT, 120 s).
 *   One vector at t = 1 / 200 s: P0 (pod-a -> node-1's own address, t = 1), A (pod-a:sp -> backend-a:8080
 *   SYN, t = 200: a new entry whose reply tuple is X's), B (backend-a's SYN/ACK to X, t = 200).
 *   PREROUTING's call runs at P0's time: X is live, B is X's reply (SYN_RECV, 60 s). P0 then goes to INPUT,
 *   so POSTROUTING's call runs at A's time, when X has expired: A's confirm frees X, then B passes
 *   without the reverse DNAT (its source stays backend-a, not the VIP).
 */
assertNativeBuilt();

const VIP = '10.96.5.20';
const F = { SYN: 2, ACK: 16 } as const;

function scenarioText(): string {
  const text = readFileSync(defaultScenarioPath(), 'utf8');
  const moved = text.replace(/(name: backend-a[\s\S]*?nodeName: )node-2([\s\S]*?podIP: )10\.244\.2\.8/, '$1node-1$210.244.1.8');
  if (moved === text) throw new Error('default scenario changed: backend-a not found');
  return moved;
}

const factory = (engine: 'ts' | 'native', nativeDispatch: boolean): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, nativeDispatch }),
});

interface Outcome { digest: RunDigest; bSource: string; xLive: boolean; postNative: number }

function run(engine: 'ts' | 'native', nativeDispatch = true): Outcome {
  const h = new Harness({ scenario: scenarioText(), engine: factory(engine, nativeDispatch), tracing: false });
  const podA = h.pod('pod-a');
  const beA = h.pod('backend-a');
  const node1 = h.node('node-1');
  const ct = h.dp.contexts[0]!.conntrack;
  // X: SYNs until one is DNATed to backend-a (kube-proxy's statistic match; seeded, so the same in both engines).
  let sp = 0;
  for (let p = 41000; p < 41032 && sp === 0; p++) {
    h.send(podFrame(h, 'pod-a', VIP, [{ type: 'tcp', srcPort: p, dstPort: 80, flags: F.SYN, seq: 1000, ack: 0, window: 64240 }]), { t: 0 });
    h.run();
    for (const e of ct.entries(0)) if (ct.tSport[e * 2] === p && ipv4ToString(ct.tSrc[e * 2 + 1]!) === beA.ip) sp = p;
  }
  expect(sp).toBeGreaterThan(0);
  h.send(podFrame(h, 'pod-a', node1.ip, [{ type: 'tcp', srcPort: 50000, dstPort: 22, flags: F.SYN, seq: 1, ack: 0, window: 64240 }]), { t: 1 });
  h.send(podFrame(h, 'pod-a', beA.ip, [{ type: 'tcp', srcPort: sp, dstPort: 8080, flags: F.SYN, seq: 9000, ack: 0, window: 64240 }]), { t: 200 });
  h.send(podFrame(h, 'backend-a', podA.ip, [{ type: 'tcp', srcPort: 8080, dstPort: sp, flags: F.SYN | F.ACK, seq: 5000, ack: 1001, window: 64240 }]), { t: 200 });
  const out = h.run();
  // B's frame as pod-a's eth0 receives it.
  const toPodA = framesAt(out, h, 'default/pod-a eth0', 0);
  expect(toPodA).toHaveLength(1);
  const b = toPodA[0]!.bytes;
  const bSource = `${ipv4ToString(new DataView(b.buffer, b.byteOffset).getUint32(14 + 12))}:${new DataView(b.buffer, b.byteOffset).getUint16(34)}`;
  const xLive = ct.entries(0).some((e) => ct.tSport[e * 2] === sp && ipv4ToString(ct.tDst[e * 2]!) === VIP);
  const post = h.counters().find((r) => r.node === 'node-1' && r.stage === 'nf4-postrouting')!;
  return { digest: digest(h.dp, h.recorder, h.capture), bSource, xLive, postNative: post.nativePackets };
}

describe('parity: a POSTROUTING confirm that reaps an expired entry another packet of the call belongs to', () => {
  it('the TS stage: A frees X, then B passes without X\'s reverse DNAT', () => {
    const ts = run('ts');
    expect(ts.xLive).toBe(false);
    expect(ts.bSource).toBe('10.244.1.8:8080');
  });

  for (const dispatch of [true, false]) {
    it(`native (${dispatch ? 'dispatcher' : 'one call per stage'}) gives the same frames, results, counters and conntrack`, () => {
      const ts = run('ts');
      const nat = run('native', dispatch);
      expect(nat.bSource).toBe(ts.bSource);
      expect(nat.digest.frames).toEqual(ts.digest.frames);
      expect(nat.digest.results).toEqual(ts.digest.results);
      expect(nat.digest.counters).toEqual(ts.digest.counters);
      expect(nat.digest.conntrack).toEqual(ts.digest.conntrack);
      // The native stages ran (the handshake's later hops, P0's INPUT, the SYNs' POSTROUTING once bound).
      expect(nat.digest.nativePackets).toBeGreaterThan(0);
    });
  }
});
