import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import type { LayerSpec } from '../../src/packet/build.js';
import { Harness, type EngineFactory } from '../helpers/dataplane-harness.js';
import { podFrame, vxlanFromNode } from '../helpers/frames.js';
import { assertNativeBuilt, digest } from './parity-helpers.js';

/**
 * Parity, randomized: sequences of valid and damaged frames (pod-sent TCP/UDP/ICMP with random
 * TTL, DF and sizes around the MTU; VXLAN from a node with random VNI, flags, port, UDP checksum
 * and inner frame; random bytes), each optionally damaged (a flipped byte, a truncation), sent
 * at random attach points in vectors of random size through both engines: identical outputs.
 */
assertNativeBuilt();

const factory = (engine: 'ts' | 'native', vectorSize: number): EngineFactory => ({
  name: engine,
  create: (cluster, opts) => new Dataplane(cluster, { ...opts, engine, vectorSize }),
});

const PODS = ['pod-a', 'backend-a', 'backend-b', 'coredns-0'];
const NODES = ['node-1', 'node-2', 'node-3'];

interface FrameSpec {
  kind: 'pod' | 'vxlan' | 'bytes';
  from: number;
  to: number;
  proto: number;
  ttl: number;
  df: boolean;
  size: number;
  vni: number;
  flags: number;
  port: number;
  csum: number;
  flip: number;
  flipValue: number;
  cut: number;
  at: number;
  raw: Uint8Array;
}

const frameSpec = fc.record<FrameSpec>({
  kind: fc.constantFrom('pod', 'pod', 'vxlan', 'vxlan', 'bytes'),
  from: fc.nat(100),
  to: fc.nat(100),
  proto: fc.constantFrom(1, 6, 17, 47),
  ttl: fc.constantFrom(0, 1, 2, 64),
  df: fc.boolean(),
  size: fc.oneof(fc.nat(64), fc.integer({ min: 1350, max: 1600 })),
  vni: fc.constantFrom(-1, -1, -1, 0, 2),
  flags: fc.constantFrom(0x08, 0x08, 0x08, 0x0c, 0),
  port: fc.constantFrom(-1, -1, -1, 4789, 8472, 6081),
  csum: fc.constantFrom(-1, -1, 0, 0x1234),
  flip: fc.integer({ min: -6, max: 120 }),
  flipValue: fc.nat(255),
  cut: fc.integer({ min: -8, max: 0 }),
  at: fc.nat(20),
  raw: fc.uint8Array({ minLength: 0, maxLength: 120 }),
});

function l4(proto: number, i: number): LayerSpec[] {
  if (proto === 6) return [{ type: 'tcp', srcPort: 40000 + (i % 7), dstPort: 80, flags: i % 3 === 0 ? 0x002 : 0x010 }];
  if (proto === 17) return [{ type: 'udp', srcPort: 50000 + (i % 5), dstPort: i % 4 === 0 ? 53 : 8080 }];
  if (proto === 1) return [{ type: 'icmp4', icmpType: [8, 0, 3, 11][i % 4], code: 0, id: i, seq: i }];
  return [{ type: 'raw', bytes: new Uint8Array(8) }];
}

function build(h: Harness, f: FrameSpec, i: number): { bytes: Uint8Array; at?: string } {
  let bytes: Uint8Array;
  let at: string | undefined;
  const payload = new Uint8Array(f.size).map((_, k) => (k * 31 + i) & 255);
  if (f.kind === 'pod') {
    const from = PODS[f.from % PODS.length];
    const to = h.pod(PODS[f.to % PODS.length]).ip;
    bytes = podFrame(h, from, to, l4(f.proto, i), payload, { ttl: f.ttl, df: f.df });
  } else if (f.kind === 'vxlan') {
    const a = NODES[f.from % 3];
    const b = NODES[(f.from + 1 + (f.to % 2)) % 3];
    const src = h.pod(PODS[f.to % PODS.length]).ip;
    const dst = h.pod(PODS[(f.to + 1) % PODS.length]).ip;
    bytes = vxlanFromNode(h, a, b, { src, dst, l4: l4(f.proto, i), payload: payload.subarray(0, 200) }, {
      ...(f.vni >= 0 ? { vni: f.vni } : {}), flags: f.flags, ...(f.port >= 0 ? { port: f.port } : {}), ...(f.csum >= 0 ? { udpChecksum: f.csum } : {}),
    });
    at = b;
  } else {
    bytes = f.raw;
    at = f.at % 2 === 0 ? NODES[f.at % 3] : PODS[f.at % PODS.length];
  }
  if (f.flip >= 0 && f.flip < bytes.length) bytes = Uint8Array.from(bytes, (x, k) => (k === f.flip ? f.flipValue : x));
  if (f.cut < 0 && bytes.length + f.cut > 0) bytes = bytes.subarray(0, bytes.length + f.cut);
  return { bytes, at };
}

function runAll(engine: 'ts' | 'native', vectorSize: number, frames: FrameSpec[], batch: number): ReturnType<typeof digest> {
  const h = new Harness({ engine: factory(engine, vectorSize), tracing: false });
  frames.forEach((f, i) => {
    const { bytes, at } = build(h, f, i);
    if (bytes.length === 0) return;
    h.send(bytes, { at, t: i * 0.001 });
    if ((i + 1) % batch === 0) h.run();
  });
  h.run();
  return digest(h.dp, h.recorder, h.capture);
}

describe('native parity: random frames, damage and vector sizes', () => {
  it('identical frames, results and counters', async () => {
    let nativeTotal = 0;
    // Async with a yield per run: the worker's event loop must answer vitest's RPC during a long property run.
    await fc.assert(
      fc.asyncProperty(fc.array(frameSpec, { minLength: 1, maxLength: 60, size: 'max' }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 60 }), async (frames, vectorSize, batch) => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const a = runAll('ts', vectorSize, frames, batch);
        const b = runAll('native', vectorSize, frames, batch);
        expect(b.counters).toEqual(a.counters);
        expect(b.results).toEqual(a.results);
        expect(b.frames).toEqual(a.frames);
        expect(b.conntrack).toEqual(a.conntrack);
        expect(b.maps).toEqual(a.maps);
        nativeTotal += b.nativePackets;
      }),
      { numRuns: 150 },
    );
    expect(nativeTotal).toBeGreaterThan(0);
  }, 300_000); // 300 dataplanes (two 262144-entry conntrack tables each) plus digests: ~60 s on a loaded host
});
