import { describe, expect, test } from 'vitest';
import { makeRealServer, makeScheduler, hsiphashU32, shHashKey, MH_TAB_SIZE, type IpvsService, type SchedulerName } from '../../src/ipvs/index.js';

const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
function svc(scheduler: SchedulerName, weights: number[]): IpvsService {
  return {
    protocol: 'TCP', vip: '10.96.5.20', vip32: ip(10, 96, 5, 20), port: 80, scheduler, persistentTimeout: 0, netmask32: 0xffffffff,
    schedFallback: false, schedPort: false, kind: 'ClusterIP', servicePortName: 'ns/s:http', local: false,
    dests: weights.map((w, i) => makeRealServer(`10.244.0.${i + 1}`, ip(10, 244, 0, i + 1), 8080, w)),
  };
}
function picks(s: IpvsService, n: number, src = (i: number) => ip(192, 168, 0, i)): number[] {
  const sch = makeScheduler(s.scheduler);
  sch.destsChanged(s);
  return Array.from({ length: n }, (_, i) => sch.schedule(s, src(i), 40000 + i, s.vip32));
}

describe('ipvs schedulers (kernel ip_vs_<name>.c)', () => {
  test('rr walks the list from the head, skips weight 0, wraps', () => {
    expect(picks(svc('rr', [1, 1, 1]), 7)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(picks(svc('rr', [1, 0, 1]), 4)).toEqual([0, 2, 0, 2]);
    expect(picks(svc('rr', [0, 0]), 2)).toEqual([-1, -1]);
  });

  test('wrr with weights 3/2/1: cw 3,2,1 passes -> A A B A B C', () => {
    expect(picks(svc('wrr', [3, 2, 1]), 12)).toEqual([0, 0, 1, 0, 1, 2, 0, 0, 1, 0, 1, 2]);
    // gcd 2: weights 4/2 step by 2, mw = 4 - 1 = 3: cw 3 -> A, cw 1 -> A B
    expect(picks(svc('wrr', [4, 2]), 6)).toEqual([0, 0, 1, 0, 0, 1]);
  });

  test('lc: overhead = active*256 + inactive, first wins ties', () => {
    const s = svc('lc', [1, 1, 1]);
    s.dests[0].activeConns = 1; // 256
    s.dests[1].inactConns = 300; // 300
    s.dests[2].activeConns = 1; s.dests[2].inactConns = 1; // 257
    expect(picks(s, 1)).toEqual([0]);
    s.dests[0].inactConns = 2; // 258 -> dest 2 (257) is least
    expect(picks(s, 1)).toEqual([2]);
  });

  test('wlc: loh * w(d) > doh * w(least)', () => {
    const s = svc('wlc', [1, 3, 1]);
    s.dests[0].activeConns = 1; // 256 / 1
    s.dests[1].activeConns = 2; // 512 / 3 = 170.6 -> least
    s.dests[2].activeConns = 1; s.dests[2].inactConns = 10; // 266
    expect(picks(s, 1)).toEqual([1]);
    s.dests[1].activeConns = 4; // 1024/3 = 341 > 256
    expect(picks(s, 1)).toEqual([0]);
  });

  test('sed: (active + 1) / weight; nq: an idle dest wins at once', () => {
    const s = svc('sed', [1, 2, 1]);
    s.dests[0].activeConns = 0; // 1/1
    s.dests[1].activeConns = 1; // 2/2 = 1 -> not strictly less, dest 0 stays
    s.dests[2].activeConns = 3;
    expect(picks(s, 1)).toEqual([0]);
    s.dests[0].activeConns = 1; // 2/1 > 2/2
    expect(picks(s, 1)).toEqual([1]);
    const q = svc('nq', [1, 5, 1]);
    q.dests[0].activeConns = 2; q.dests[1].activeConns = 1; q.dests[2].activeConns = 0;
    expect(picks(q, 1)).toEqual([2]); // idle beats the better sed ratio of dest 1
    q.dests[2].activeConns = 4;
    expect(picks(q, 1)).toEqual([1]); // 2/5 < 3/1
  });

  test('sh: same source -> same dest; weight w fills w consecutive buckets of 256', () => {
    const s = svc('sh', [1, 1, 2]);
    const a = picks(s, 200, (i) => ip(172, 16, i >> 8, i & 255));
    const b = picks(s, 200, (i) => ip(172, 16, i >> 8, i & 255));
    expect(a).toEqual(b);
    const sch = makeScheduler('sh');
    sch.destsChanged(s);
    // bucket pattern 0,1,2,2,0,1,2,2,...: the dest is fixed by the bucket of hash_32(addr, 8)
    for (let i = 0; i < 50; i++) {
      const addr = ip(10, 1, 2, i);
      expect(sch.schedule(s, addr, 1, 0)).toBe([0, 1, 2, 2][shHashKey(addr, 0, 0) % 4]);
    }
    const counts = [0, 0, 0];
    for (let i = 0; i < 4096; i++) counts[sch.schedule(s, ip(10, 2, i >> 8, i & 255), 1, 0)]++;
    expect(counts[2] / 4096).toBeGreaterThan(0.4);
    expect(counts[0] / 4096).toBeGreaterThan(0.15);
    s.dests[1].weight = 0; // the bucket's dest unusable and no fallback: NULL
    const addr1 = Array.from({ length: 256 }, (_, i) => ip(10, 3, 0, i)).find((a) => sch.schedule({ ...s, dests: s.dests.map((d) => ({ ...d, weight: 1 })) }, a, 0, 0) === 1)!;
    expect(sch.schedule(s, addr1, 0, 0)).toBe(-1);
  });

  test('dh: keyed on destination address, (addr * 2654435761) & 255 into round-robin buckets', () => {
    const s = svc('dh', [1, 1, 1]);
    const sch = makeScheduler('dh');
    sch.destsChanged(s);
    for (let i = 0; i < 20; i++) {
      const d = ip(10, 96, 0, i);
      const h = Number((BigInt(d) * 2654435761n) & 255n);
      expect(sch.schedule(s, ip(1, 1, 1, i), 0, d)).toBe(h % 3);
      expect(sch.schedule(s, ip(9, 9, 9, i), 0, d)).toBe(h % 3); // source does not matter
    }
  });

  test('mh: hsiphash matches a BigInt SipHash-1-3 reference', () => {
    const M = (1n << 64n) - 1n;
    const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M;
    const ref = (v: number, k0: bigint, k1: bigint): number => {
      let v0 = 0x736f6d6570736575n ^ k0, v1 = 0x646f72616e646f6dn ^ k1, v2 = 0x6c7967656e657261n ^ k0, v3 = 0x7465646279746573n ^ k1;
      const round = () => {
        v0 = (v0 + v1) & M; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
        v2 = (v2 + v3) & M; v3 = rotl(v3, 16n); v3 ^= v2;
        v0 = (v0 + v3) & M; v3 = rotl(v3, 21n); v3 ^= v0;
        v2 = (v2 + v1) & M; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
      };
      const b = (4n << 56n) | BigInt(v >>> 0);
      v3 ^= b; round(); v0 ^= b; v2 ^= 0xffn; round(); round(); round();
      return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
    };
    for (const v of [0, 1, 0x0af40208, 0xffffffff, 123456789]) {
      expect(hsiphashU32(v, 0, 2654435761, 0, 2654435761)).toBe(ref(v, 2654435761n, 2654435761n));
      expect(hsiphashU32(v, 0x01020304, 0x05060708, 0x11223344, 0x55667788)).toBe(ref(v, 0x0102030405060708n, 0x1122334455667788n));
    }
  });

  test('mh: stable, balanced, and removing one of N dests remaps about 1/N of sources', () => {
    const N = 5;
    const s = svc('mh', Array(N).fill(1));
    const src = (i: number) => ip(100, 64, i >> 8, i & 255);
    const before = picks(s, 3000, src);
    expect(picks(s, 3000, src)).toEqual(before);
    const counts = Array(N).fill(0);
    for (const p of before) counts[p]++;
    for (const c of counts) expect(c / 3000).toBeGreaterThan(0.12);
    const removed = 2;
    const s2 = { ...s, dests: s.dests.filter((_, i) => i !== removed) };
    const after = picks(s2, 3000, src).map((j) => s.dests.indexOf(s2.dests[j]));
    let moved = 0;
    for (let i = 0; i < 3000; i++) if (before[i] !== removed && after[i] !== before[i]) moved++;
    expect(after.every((j) => j !== removed && j >= 0)).toBe(true);
    expect(moved / 3000).toBeLessThan(0.1); // only the removed dest's share (1/N) must move; maglev disturbs a few more
    expect(MH_TAB_SIZE).toBe(4093);
  });
});
