import { describe, expect, it } from 'vitest';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { buildFrame } from '../../src/packet/build.js';
import { loadCluster } from '../helpers/dataplane-harness.js';
import { assertNativeBuilt, conntrackDump, hashArrays } from './parity-helpers.js';

/**
 * The outer TOS of a VXLAN packet (the inner ECN field; test/stages/vxlan.test.ts has the kernel's
 * values) with no capture observer, so vxlan4-encap runs natively: every byte of the pool (the outer
 * headers stay in each slot's headroom after decap), counters and conntrack as the TypeScript engine's.
 */
assertNativeBuilt();

const TOS = [0x00, 0x01, 0x02, 0x03, 0xc0, 0xc2, 0xb8, 0xbb, 0xff];

function run(engine: 'ts' | 'native', udpCsum: boolean): { pool: string; counters: string[]; conntrack: string[]; native: number } {
  const base = loadCluster();
  const cluster = { ...base, tunnel: { ...base.tunnel, udpCsum } };
  const podA = cluster.pods.find((p) => p.name === 'pod-a')!;
  const backends = cluster.pods.filter((p) => p.name.startsWith('backend-'));
  const dp = new Dataplane(cluster, { engine, nativeDispatch: true, vectorSize: 256, poolSize: 256 });
  const frames = TOS.flatMap((tos, i) => backends.map((b, j) => buildFrame([
    { type: 'eth', src: podA.mac, dst: 'ee:ee:ee:ee:ee:ee' }, { type: 'ipv4', src: podA.ip, dst: b.ip, tos },
    { type: 'udp', srcPort: 6000 + i * 4 + j, dstPort: 8080 }], new Uint8Array(16).fill(i))));
  const buf = new Uint8Array(frames.reduce((a, f) => a + f.length, 0));
  const n = frames.length;
  const fa = { buf, offset: new Int32Array(n), caplen: new Int32Array(n), wireLen: new Int32Array(n), tsSec: new Float64Array(n).fill(1_700_000_000), tsNsec: new Uint32Array(n) };
  let o = 0;
  frames.forEach((f, i) => {
    buf.set(f, o);
    fa.offset[i] = o;
    fa.caplen[i] = fa.wireLen[i] = f.length;
    fa.tsNsec[i] = i * 1000;
    o += f.length;
  });
  dp.injectFrames(fa, 0, n, 1);
  dp.run();
  const p = dp.pool;
  const rows = dp.engine.runtimeRows();
  return {
    pool: hashArrays([p.bytes, p.start, p.len, p.l3, p.l4, p.next, p.drop, p.verdict, p.freeList]),
    counters: rows.map((r) => `${r.node} ${r.stage} calls ${r.calls} packets ${r.packets} drops ${r.drops.map((d) => `${d.code}x${d.count}`).join(',')}`),
    conntrack: conntrackDump(dp),
    native: rows.filter((r) => r.stage === 'vxlan4-encap').reduce((a, r) => a + r.nativePackets, 0),
  };
}

describe('native parity: the outer TOS of VXLAN packets (inner ECN copied, CE as ECT(0))', () => {
  it.each([true, false])('udpCsum %s: same pool bytes, counters and conntrack; vxlan4-encap ran natively', (udpCsum) => {
    const ts = run('ts', udpCsum);
    const nat = run('native', udpCsum);
    expect(nat.native).toBe(TOS.length * 2);
    expect(nat.counters).toEqual(ts.counters);
    expect(nat.conntrack).toEqual(ts.conntrack);
    expect(nat.pool).toBe(ts.pool);
  });
});
