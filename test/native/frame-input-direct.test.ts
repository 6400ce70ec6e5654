import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureFiles } from '../helpers/capture-files.js';
import { CaptureReader } from '../../src/capture/capture-reader.js';
import { FrameBatch } from '../../src/capture/frame-batch.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { StageCounters } from '../../src/engine/counters.js';
import { PacketFlag } from '../../src/engine/pool.js';
import { StageRuntime } from '../../src/engine/runtime.js';
import type { TraceRecord } from '../../src/engine/trace.js';
import { buildFrame } from '../../src/packet/build.js';
import { deviceTable } from '../../src/native/stages.js';
import { requireNative } from '../../src/native/loader.js';
import { packageRoot } from '../../src/scenario/index.js';
import { frameInput } from '../../src/stages/frame-input.js';
import { Harness } from '../helpers/dataplane-harness.js';
import { arpRequest, podFrame, vxlanFromNode } from '../helpers/frames.js';
import { assertNativeBuilt } from './parity-helpers.js';

/**
 * frame-input, frame by frame: the addon and the TS stage on copies of the same frame (corpus
 * captures, generated frames, random bytes and damaged frames), at every attach point. Where the
 * addon takes a frame, every metadata word the TS stage writes (l3, l4, device, ingress, node, next,
 * flags, verdict, drop) and the bytes must be identical; l3/l4 of a frame a later stage drops are
 * otherwise invisible in the end-to-end parity suites.
 */
assertNativeBuilt();

const addon = requireNative();
const h = new Harness({ tracing: false });
const dp = h.dp;
const pool = dp.pool;
const ctx = dp.contexts[0]!;
const poolH = addon.attachPool({
  bytes: pool.bytes, slotBytes: pool.slotBytes, size: pool.size, start: pool.start, len: pool.len, wireLen: pool.wireLen,
  device: pool.device, next: pool.next, drop: pool.drop, verdict: pool.verdict, l3: pool.l3, l4: pool.l4,
  aux0: pool.aux0, aux1: pool.aux1, aux2: pool.aux2, ownBuf: pool.ownBuf, ct: pool.ct, ctinfo: pool.ctinfo,
  tsSec: pool.tsSec, tsNsec: pool.tsNsec, node: pool.node, ingress: pool.ingress, mark: pool.mark, flags: pool.flags, frameNo: pool.frameNo,
});
const devH = addon.attachDevices(deviceTable(ctx));
const sink: TraceRecord[] = [];
const rt = new StageRuntime(frameInput.name, 0, 'node-1', dp.contexts.map((c) => c.node.name), ctx, new StageCounters(), pool, sink, [], () => {});
const drops = new Float64Array(512);
const hand = new Uint8Array(1);
const slotArr = new Int32Array(1);
const ATTACH = [-1, ...dp.devices.all.map((d) => d.id)];

let taken = 0;
let left = 0;

/** Both stages on one frame at `device`, with `flags`; fields compared when the addon took it. */
function check(bytes: Uint8Array, wireLen: number, device: number, flags: number): void {
  const a = pool.load(bytes, 0, bytes.length, wireLen, 1, 0);
  const b = pool.load(bytes, 0, bytes.length, wireLen, 1, 0);
  try {
    for (const s of [a, b]) {
      pool.device[s] = device;
      pool.flags[s] = flags;
      pool.node[s] = 0;
    }
    slotArr[0] = a;
    frameInput.process(rt, slotArr, 1, pool);
    slotArr[0] = b;
    const l = addon.frameInput(poolH, devH, slotArr, 1, drops, hand);
    if (l === 1) {
      expect(hand[0]).toBe(1);
      // Left untouched for the TS stage.
      expect([pool.l3[b], pool.l4[b], pool.device[b], pool.next[b], pool.flags[b]]).toEqual([-1, -1, device, -1, flags]);
      left++;
      return;
    }
    taken++;
    const meta = (s: number) => [pool.l3[s] - pool.start[s], pool.l4[s] < 0 ? -1 : pool.l4[s] - pool.start[s], pool.device[s], pool.ingress[s], pool.node[s], pool.next[s], pool.flags[s], pool.verdict[s], pool.drop[s]];
    expect(meta(b)).toEqual(meta(a));
    expect(Buffer.from(pool.frame(b)).equals(Buffer.from(pool.frame(a)))).toBe(true);
  } finally {
    pool.free(a);
    pool.free(b);
  }
}

function generated(): Uint8Array[] {
  const a = h.pod('pod-a');
  const be = h.pod('backend-b');
  const n1 = h.node('node-1');
  const n2 = h.node('node-2');
  const eth = { type: 'eth' as const, src: a.mac, dst: 'ee:ee:ee:ee:ee:ee' };
  const ip = { type: 'ipv4' as const, src: a.ip, dst: be.ip };
  return [
    podFrame(h, 'pod-a', be.ip, [{ type: 'tcp', srcPort: 1, dstPort: 2, mss: 1460, wscale: 7, timestamp: [1, 2] }], new Uint8Array(30)),
    podFrame(h, 'pod-a', be.ip, [{ type: 'udp', srcPort: 1, dstPort: 2 }], new Uint8Array(30)),
    podFrame(h, 'pod-a', be.ip, [{ type: 'udp', srcPort: 1, dstPort: h.cluster.tunnel.port }], new Uint8Array(30)),
    podFrame(h, 'pod-a', be.ip, [{ type: 'udp', srcPort: 1, dstPort: 6081 }], new Uint8Array(30)),
    podFrame(h, 'pod-a', be.ip, [{ type: 'udp', srcPort: 1, dstPort: 4789 }], new Uint8Array(30)),
    podFrame(h, 'pod-a', be.ip, [{ type: 'icmp4', icmpType: 8 }], new Uint8Array(8)),
    podFrame(h, 'pod-a', be.ip, [{ type: 'icmp4', icmpType: 3 }]),
    podFrame(h, 'pod-a', be.ip, [{ type: 'icmp4', icmpType: 11 }], buildFrame([{ type: 'ipv4', src: be.ip, dst: a.ip }, { type: 'tcp', srcPort: 5, dstPort: 6 }]).subarray(0, 28)),
    buildFrame([{ ...eth, vlans: [{ id: 5 }] }, ip, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([{ ...eth, vlans: [{ id: 5, tpid: 0x88a8 }, { id: 6 }, { id: 7, tpid: 0x9100 }, { id: 8, tpid: 0x9200 }] }, ip, { type: 'udp', srcPort: 1, dstPort: 2 }]),
    buildFrame([{ ...eth, vlans: [{ id: 5 }, { id: 6 }, { id: 7 }, { id: 8 }, { id: 9 }] }, ip, { type: 'udp', srcPort: 1, dstPort: 2 }]),
    buildFrame([eth, { ...ip, options: new Uint8Array([7, 7, 4, 0, 0, 0, 0]) }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([eth, { ...ip, mf: true }, { type: 'udp', srcPort: 1, dstPort: 2, length: 900 }], new Uint8Array(20)),
    buildFrame([eth, { ...ip, mf: true }, { type: 'udp', srcPort: 1, dstPort: 4789, length: 900 }], new Uint8Array(20)),
    buildFrame([eth, { ...ip, fragOffset: 64 }, { type: 'raw', bytes: new Uint8Array(10) }]),
    buildFrame([eth, { ...ip, protocol: 47 }, { type: 'raw', bytes: new Uint8Array(10) }]),
    buildFrame([eth, { ...ip, protocol: 4 }, { type: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8' }]),
    buildFrame([eth, { ...ip, protocol: 58 }, { type: 'raw', bytes: new Uint8Array(10) }]),
    buildFrame([eth, { ...ip, totalLength: 0 }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([eth, { ...ip, totalLength: 400 }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([eth, { ...ip, totalLength: 21 }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([eth, ip, { type: 'udp', srcPort: 1, dstPort: 2, length: 7 }]),
    buildFrame([eth, ip, { type: 'tcp', srcPort: 1, dstPort: 2 }], new Uint8Array(2000)),
    buildFrame([{ ...eth, etherType: 0x0026 }, { type: 'raw', bytes: new Uint8Array([0xaa, 0xaa, 3, 0, 0, 0, 8, 0]) }, ip, { type: 'udp', srcPort: 1, dstPort: 2 }]),
    buildFrame([eth, { type: 'ipv6', src: 'fd00::1', dst: 'fd00::2' }, { type: 'udp', srcPort: 1, dstPort: 2 }]),
    arpRequest(a.mac, a.ip, a.gatewayIp),
    arpRequest(n1.mac, n1.ip, n2.ip),
    buildFrame([{ type: 'eth', src: n1.mac, dst: n2.mac }, { type: 'ipv4', src: n1.ip, dst: n2.ip }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([{ type: 'eth', src: '02:00:00:00:00:09', dst: n2.mac }, { type: 'ipv4', src: n1.ip, dst: n2.ip }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([{ type: 'eth', src: '02:00:00:00:00:09', dst: n2.mac }, { type: 'ipv4', src: a.ip, dst: n2.ip }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    buildFrame([{ type: 'eth', src: '02:00:00:00:00:09', dst: n2.mac }, { type: 'ipv4', src: '9.9.9.9', dst: n2.ip }, { type: 'tcp', srcPort: 1, dstPort: 2 }]),
    vxlanFromNode(h, 'node-2', 'node-1', { src: be.ip, dst: a.ip, l4: [{ type: 'tcp', srcPort: 1, dstPort: 2 }] }),
    new Uint8Array(0),
    new Uint8Array(13),
  ];
}

function corpusFrames(): { bytes: Uint8Array; wireLen: number }[] {
  const dir = join(packageRoot(), 'test/fixtures/corpus');
  const out: { bytes: Uint8Array; wireLen: number }[] = [];
  const batch = new FrameBatch(256);
  for (const path of captureFiles(dir)) {
    try {
      const r = CaptureReader.fromBuffer(new Uint8Array(readFileSync(path)), basename(path));
      for (let n = r.next(batch); n > 0 && out.length < 20000; n = r.next(batch)) {
        for (let i = 0; i < n; i++) {
          if (batch.linkType[i] !== 1) continue;
          const o = batch.offset[i];
          out.push({ bytes: batch.buf.slice(o, o + batch.caplen[i]), wireLen: batch.wireLen[i] });
        }
      }
    } catch {
      // damaged capture: the frames before the damage are kept
    }
  }
  return out;
}

describe('native frame-input, frame by frame', () => {
  it('generated frames at every attach point, with and without LOCAL_OUT, caplen < wire length', () => {
    taken = left = 0;
    for (const f of generated()) {
      for (const at of ATTACH) {
        for (const flags of [0, PacketFlag.LOCAL_OUT]) {
          check(f, f.length, at, flags);
          check(f, f.length + 100, at, flags);
          if (f.length > 40) check(f.subarray(0, 40), f.length, at, flags);
        }
      }
    }
    expect(taken).toBeGreaterThan(200);
    expect(left).toBeGreaterThan(200);
  });

  it('every Ethernet frame of the capture corpus', () => {
    taken = left = 0;
    const frames = corpusFrames();
    expect(frames.length).toBeGreaterThan(100);
    for (const f of frames) {
      check(f.bytes, f.wireLen, -1, 0);
      check(f.bytes, f.wireLen, 0, 0);
    }
    expect(taken).toBeGreaterThan(50);
  });

  it('random damage of valid frames and random bytes', () => {
    const base = generated().filter((f) => f.length > 20);
    fc.assert(fc.property(fc.nat(base.length - 1), fc.nat(200), fc.nat(255), fc.integer({ min: -30, max: 10 }), fc.constantFrom(...ATTACH), fc.uint8Array({ maxLength: 80 }), (k, pos, val, cut, at, raw) => {
      const f = base[k]!.slice();
      if (pos < f.length) f[pos] = val;
      const g = cut < 0 ? f.subarray(0, Math.max(0, f.length + cut)) : f;
      check(g, g.length + Math.max(0, cut), at, 0);
      check(raw, raw.length, at, 0);
    }), { numRuns: 3000 });
  });
});
