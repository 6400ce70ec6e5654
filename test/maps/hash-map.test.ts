import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, ENOENT, MapSpecError } from '../../src/maps/errors.js';
import { HashMap, LruHashMap } from '../../src/maps/hash-map.js';
import { ipv4CtTupleV1, ctEntryV1, MAPS_V1 } from '../../src/maps/cilium-layouts.js';
import { defineStruct } from '../../src/maps/schema.js';
import { createMap } from '../../src/maps/create.js';

const k32 = defineStruct('k32_v1', [['id', 'u32']]);
const v32 = defineStruct('v32_v1', [['v', 'u32']]);
const k6 = defineStruct('k6_v1', [['a', 'u32be'], ['b', 'u16']], { packed: true });

function key(id: number): Uint8Array {
  return k32.encode({ id });
}
function val(v: number): Uint8Array {
  return v32.encode({ v });
}

describe('HashMap', () => {
  it('insert, lookup in place, update, delete', () => {
    const m = new HashMap({ name: 'h_v1', key: k32, value: v32, maxEntries: 8 });
    expect(m.update(key(1), val(10))).toBe(0);
    const off = m.lookup(key(1));
    expect(off).toBeGreaterThan(0);
    expect(v32.get.v(m.bytes, off)).toBe(10);
    v32.set.v(m.bytes, off, 11); // in place, as a BPF program writes through the lookup pointer
    expect(v32.decode(m.get(key(1))!).v).toBe(11);
    expect(m.update(key(1), val(12), BPF_NOEXIST)).toBe(EEXIST);
    expect(m.update(key(2), val(20), BPF_EXIST)).toBe(ENOENT);
    expect(m.update(key(1), val(12), BPF_EXIST)).toBe(0);
    expect(m.delete(key(1))).toBe(0);
    expect(m.delete(key(1))).toBe(ENOENT);
    expect(m.lookup(key(1))).toBe(-1);
    expect(m.stats()).toMatchObject({ lookups: 3, hits: 2, misses: 1, inserts: 1, updates: 1, deletes: 1, full: 0 });
  });

  it('a full map refuses a new key with E2BIG and counts it; existing keys still update', () => {
    const m = new HashMap({ name: 'h_v1', key: k32, value: v32, maxEntries: 4 });
    for (let i = 0; i < 4; i++) expect(m.update(key(i), val(i))).toBe(0);
    expect(m.update(key(99), val(1))).toBe(E2BIG);
    expect(m.update(key(100), val(1))).toBe(E2BIG);
    expect(m.stats().full).toBe(2);
    expect(m.count).toBe(4);
    expect(m.update(key(2), val(22))).toBe(0);
    expect(m.delete(key(0))).toBe(0);
    expect(m.update(key(99), val(1))).toBe(0);
    expect(m.lookup(key(99))).toBeGreaterThan(0);
  });

  it('handles non-multiple-of-4 keys (jhash path) and dumps every entry', () => {
    const m = new HashMap({ name: 'h6_v1', key: k6, value: v32, maxEntries: 64, seed: 7 });
    for (let i = 0; i < 50; i++) expect(m.update(k6.encode({ a: 0x0a000000 + i, b: i }), val(i))).toBe(0);
    const dumped = [...m.entries()].map((e) => [k6.decode(e.key).b, v32.decode(e.value).v]).sort((x, y) => x[0] - y[0]);
    expect(dumped).toEqual(Array.from({ length: 50 }, (_, i) => [i, i]));
  });

  it('keeps everything in one ArrayBuffer described by layout()', () => {
    const m = createMap({ ...MAPS_V1.ct4_global_v1, maxEntries: 1000 });
    const l = m.layout();
    expect(l.name).toBe('ct4_global_v1');
    expect(l.keySize).toBe(14);
    expect(l.valueSize).toBe(56);
    expect(l.entryStride).toBe(16 + 16 + 56);
    const last = l.regions[l.regions.length - 1];
    expect(last.offset + last.size).toBe(m.buffer.byteLength);
    expect(l.regions.find((r) => r.name === 'buckets')!.size).toBe(1024 * 4);
    const header = new Uint32Array(m.buffer, 0, 8);
    expect([...header]).toEqual([0x4d504544, 1, 3, 14, 56, 1000, 0, 0]);
  });

  it('rejects unversioned names and bad max_entries', () => {
    expect(() => new HashMap({ name: 'h', key: k32, value: v32, maxEntries: 4 })).toThrowError(MapSpecError);
    expect(() => new HashMap({ name: 'h_v1', key: k32, value: v32, maxEntries: 0 })).toThrowError(/max_entries/);
  });

  it('agrees with a JS Map model under random get/put/delete (fast-check)', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('put' as const), k: fc.integer({ min: 0, max: 40 }), v: fc.nat() }),
      fc.record({ t: fc.constant('get' as const), k: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ t: fc.constant('del' as const), k: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 32 }), fc.nat(), fc.array(op, { maxLength: 300, size: 'max' }), (max, seed, ops) => {
      const m = new HashMap({ name: 'h_v1', key: k32, value: v32, maxEntries: max, seed });
      const model = new Map<number, number>();
      for (const o of ops) {
        if (o.t === 'put') {
          const rc = m.update(key(o.k), val(o.v));
          if (model.has(o.k) || model.size < max) {
            expect(rc).toBe(0);
            model.set(o.k, o.v);
          } else {
            expect(rc).toBe(E2BIG);
          }
        } else if (o.t === 'get') {
          const off = m.lookup(key(o.k));
          expect(off < 0 ? undefined : v32.get.v(m.bytes, off)).toBe(model.get(o.k));
        } else {
          expect(m.delete(key(o.k))).toBe(model.delete(o.k) ? 0 : ENOENT);
        }
        expect(m.count).toBe(model.size);
      }
      const dumped = new Map([...m.entries()].map((e) => [k32.decode(e.key).id, v32.decode(e.value).v]));
      expect(dumped).toEqual(model);
    }), { numRuns: 200 });
  });
});

describe('LruHashMap', () => {
  it('evicts the least recently used entry when full and counts it', () => {
    const m = new LruHashMap({ name: 'lru_v1', key: k32, value: v32, maxEntries: 3 });
    m.update(key(1), val(1));
    m.update(key(2), val(2));
    m.update(key(3), val(3));
    expect(m.lookup(key(1))).toBeGreaterThan(0); // 1 is now most recent; 2 is the oldest
    expect(m.update(key(4), val(4))).toBe(0);
    expect(m.lookup(key(2))).toBe(-1);
    expect(m.stats()).toMatchObject({ evicted: 1, full: 0 });
    m.update(key(3), val(33)); // update refreshes too; 1 is now the oldest... after 4 and 3
    expect(m.update(key(5), val(5))).toBe(0);
    expect(m.lookup(key(1))).toBe(-1);
    expect([...m.entries()].map((e) => k32.decode(e.key).id).sort()).toEqual([3, 4, 5]);
    expect(m.stats().evicted).toBe(2);
  });

  it('agrees with an LRU model (JS Map in recency order) under random ops', () => {
    const op = fc.record({ t: fc.constantFrom('put', 'get', 'del'), k: fc.integer({ min: 0, max: 20 }), v: fc.nat() });
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.array(op, { maxLength: 200, size: 'max' }), (max, ops) => {
      const m = new LruHashMap({ name: 'lru_v1', key: ipv4CtTupleV1, value: ctEntryV1, maxEntries: max });
      const model = new Map<number, number>();
      const tk = (k: number) => ipv4CtTupleV1.encode({ daddr: 0x0a000001, saddr: 0x0a000100 + k, dport: 80, sport: 40000 + k, nexthdr: 6 });
      for (const o of ops) {
        if (o.t === 'put') {
          if (!model.has(o.k) && model.size === max) model.delete(model.keys().next().value as number);
          model.delete(o.k);
          model.set(o.k, o.v);
          expect(m.update(tk(o.k), ctEntryV1.encode({ lifetime: o.v }))).toBe(0);
        } else if (o.t === 'get') {
          const off = m.lookup(tk(o.k));
          const want = model.get(o.k);
          if (want !== undefined) {
            model.delete(o.k);
            model.set(o.k, want);
          }
          expect(off < 0 ? undefined : ctEntryV1.get.lifetime(m.bytes, off)).toBe(want);
        } else {
          expect(m.delete(tk(o.k))).toBe(model.delete(o.k) ? 0 : ENOENT);
        }
        expect(m.count).toBe(model.size);
      }
    }), { numRuns: 200 });
  });
});
