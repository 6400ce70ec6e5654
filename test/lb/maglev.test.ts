import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAGLEV_EMPTY, MAGLEV_TABLE_SIZES, MaglevConfigError, maglevConfig, maglevFlowHash4, maglevHashString, maglevLookup,
  maglevTable, maglevTableByName,
} from '../../src/lb/maglev.js';
import type { MaglevBackend } from '../../src/lb/maglev.js';
import { jhash3words } from '../../src/maps/jhash.js';

function backends(n: number, salt = 0): MaglevBackend[] {
  return Array.from({ length: n }, (_, i) => ({ id: 100 + i, address: `10.${salt & 255}.${i >> 8}.${i & 255}`, port: 8080, protocol: 'TCP' }));
}
function counts(t: Uint32Array): Map<number, number> {
  const c = new Map<number, number>();
  for (const id of t) c.set(id, (c.get(id) ?? 0) + 1);
  return c;
}

describe('Maglev configuration', () => {
  it("accepts exactly Cilium's table sizes", () => {
    for (const m of MAGLEV_TABLE_SIZES) expect(maglevConfig({ tableSize: m }).tableSize).toBe(m);
    for (const bad of [0, 250, 16383, 65537, 100]) {
      expect(() => maglevConfig({ tableSize: bad })).toThrowError(MaglevConfigError);
    }
    // The error names its code and the sizes that are allowed.
    expect(() => maglevConfig({ tableSize: 1000 })).toThrow(expect.objectContaining({ code: 'MAGLEV_BAD_TABLE_SIZE', message: expect.stringContaining('16381') }));
  });

  it("splits Cilium's default base64 seed into murmur and jhash seeds (big-endian words)", () => {
    const c = maglevConfig();
    expect(c.tableSize).toBe(16381);
    expect([c.seedMurmur, c.seedJhash0, c.seedJhash1]).toEqual([0x24b7ef82, 0x71dcda46, 0x92505688]);
    expect(() => maglevConfig({ hashSeed: 'c2hvcnQ=' })).toThrowError(/12 bytes/);
  });

  it("names backends with Cilium's hash string", () => {
    expect(maglevHashString({ id: 1, address: '10.0.0.1', port: 80, protocol: 'TCP' })).toBe('[10.0.0.1:80/TCP,State:active]');
    expect(maglevHashString({ id: 1, address: 'fd00::1', port: 53, protocol: 'UDP', scopeInternal: true })).toBe('[[fd00::1]:53/UDP/i,State:active]');
  });
});

describe('Maglev table', () => {
  it("reproduces Cilium's TestWeightedBackendWithRemoval counts (default seed, M=1021)", () => {
    const cfg = maglevConfig({ tableSize: 1021 });
    const t = maglevTableByName([
      { name: 'one', weight: 2, id: 0 }, { name: 'three', weight: 13, id: 1 },
      { name: 'two', weight: 111, id: 2 }, { name: 'tzwe', weight: 10, id: 3 },
    ], cfg);
    const c = counts(t);
    expect([c.get(0), c.get(1), c.get(2), c.get(3)]).toEqual([16, 98, 832, 75]);
  });

  it("passes Cilium's TestBackendRemoval (< 1% of surviving slots move, M=1021)", () => {
    const cfg = maglevConfig({ tableSize: 1021 });
    const all = [{ name: 'one', weight: 1, id: 0 }, { name: 'three', weight: 1, id: 1 }, { name: 'two', weight: 1, id: 2 }];
    const before = maglevTableByName(all, cfg);
    const after = maglevTableByName(all.filter((b) => b.name !== 'two'), cfg);
    let changed = 0;
    for (let i = 0; i < before.length; i++) {
      if (before[i] !== 2 && after[i] !== before[i]) changed++;
      expect(after[i] === 0 || after[i] === 1).toBe(true);
    }
    expect((changed / 1021) * 100).toBeLessThan(1);
  });

  it('is deterministic and independent of input order', () => {
    const cfg = maglevConfig({ tableSize: 4093 });
    const bs = backends(7);
    const a = maglevTable(bs, cfg);
    expect(maglevTable([...bs].reverse(), cfg)).toEqual(a);
    expect(a.length).toBe(4093);
    expect(a.includes(MAGLEV_EMPTY)).toBe(false);
  });

  it('each backend gets floor or ceil of M/N slots (unweighted), for any N and seed', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(251, 1021, 4093), (n, salt, m) => {
      const t = maglevTable(backends(n, salt), maglevConfig({ tableSize: m }));
      const c = counts(t);
      expect(c.size).toBe(n);
      for (const v of c.values()) expect(Math.abs(v - m / n)).toBeLessThan(1);
    }), { numRuns: 40 });
  });

  it('honours weights roughly in proportion', () => {
    const bs = backends(3).map((b, i) => ({ ...b, weight: [100, 200, 300][i] }));
    const c = counts(maglevTable(bs, maglevConfig({ tableSize: 16381 })));
    expect(Math.abs(c.get(100)! / 16381 - 1 / 6)).toBeLessThan(0.01);
    expect(Math.abs(c.get(102)! / 16381 - 3 / 6)).toBeLessThan(0.01);
    expect(c.has(103)).toBe(false);
  });

  it('removing one of N backends remaps about 1/N of slots, nearly all from the removed backend (fast-check)', () => {
    // Maglev's guarantee is minimal, not zero, disruption: a few slots of surviving backends also move
    // (the paper's Figure; Cilium's own test bounds it at 1% for its case). With M = 16381, measured over every
    // salt the property draws (0..255), N = 2..30 and every removed backend (a sixth of them above N = 16), the
    // worst share of survivors' slots moved is 6.3% at N = 7, 5.3% at 8, 4.2% at 9, 3.7% at 10, 2.9% at 11,
    // 2.6% at 12, 2.3% at 13 and under 2% from 14 on. (An earlier bound from 52 salts, 2% from N = 6, failed in CI on
    // salt 16 at N = 7: 4.3%.)
    const cfg = maglevConfig({ tableSize: 16381 });
    fc.assert(fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 0, max: 255 }), fc.nat(), (n, salt, pick) => {
      const bs = backends(n, salt);
      const gone = bs[pick % n].id;
      const before = maglevTable(bs, cfg);
      const after = maglevTable(bs.filter((b) => b.id !== gone), cfg);
      let moved = 0;
      let survivorsMoved = 0;
      let stillGone = 0;
      for (let i = 0; i < before.length; i++) {
        if (after[i] === gone) stillGone++;
        if (before[i] !== after[i]) {
          moved++;
          if (before[i] !== gone) survivorsMoved++;
        }
      }
      const bound = n <= 8 ? 0.07 : n <= 13 ? 0.045 : 0.03;
      expect(stillGone).toBe(0);
      expect(survivorsMoved / 16381).toBeLessThan(bound);
      expect(Math.abs(moved / 16381 - 1 / n)).toBeLessThan(bound);
    }), { numRuns: 25 });
  });

  it('rejects duplicate backends; an empty set gives an empty table', () => {
    const b = backends(1)[0];
    expect(() => maglevTable([b, { ...b, id: 9 }], maglevConfig({ tableSize: 251 }))).toThrowError(MaglevConfigError);
    const empty = maglevTable([], maglevConfig({ tableSize: 251 }));
    expect(maglevLookup(empty, 1)).toBe(MAGLEV_EMPTY);
  });
});

describe('Maglev lookup', () => {
  it('hash_from_tuple_v4 = jhash_3words(saddr, dport << 16 | sport, nexthdr, HASH_INIT4_SEED) over raw loads', () => {
    // 10.0.0.1:40000 -> :80 TCP; on a little-endian host the __be32 10.0.0.1 loads as 0x0100000a.
    const h = maglevFlowHash4(0x0a000001, 40000, 80, 6, 0x71dcda46);
    expect(h).toBe(jhash3words(0x0100000a, ((0x5000 << 16) | 0x409c) >>> 0, 6, 0x71dcda46));
  });
  it('picks table[hash % M]', () => {
    const t = maglevTable(backends(3), maglevConfig({ tableSize: 251 }));
    for (const h of [0, 1, 250, 251, 0xffffffff]) expect(maglevLookup(t, h)).toBe(t[h % 251]);
  });
});
