import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashMap, LruHashMap } from '../../src/maps/hash-map.js';
import { defineStruct } from '../../src/maps/schema.js';
import { requireNative } from '../../src/native/loader.js';
import { assertNativeBuilt } from './parity-helpers.js';

/**
 * native/src/bpfmap.h against src/maps/hash-map.ts: two maps built by the same operations, one looked up by
 * TypeScript and the other by the addon, must give the same value offsets and stay byte-identical (stats
 * counters, LRU order), for keys whose size takes jhash2 (multiple of 4) and jhash (other sizes, here 14 as
 * Cilium's ipv4_ct_tuple).
 */
assertNativeBuilt();
const addon = requireNative();

const k8 = defineStruct('k8_v1', [['a', 'u32be'], ['b', 'u32']]);
const k14 = defineStruct('k14_v1', [['a', 'u32be'], ['b', 'u32be'], ['c', 'u16be'], ['d', 'u16be'], ['e', 'u8'], ['f', 'u8']], { packed: true });
const k23 = defineStruct('k23_v1', [['a', 'u32'], ['b', 'u32'], ['c', 'u32'], ['d', 'u32'], ['e', 'u32'], ['f', 'u16'], ['g', 'u8']], { packed: true });
const val = defineStruct('val_v1', [['v', 'u32'], ['w', 'u16'], ['pad', 'pad2']]);

type Op = { kind: 'update' | 'delete' | 'lookup' | 'peek' | 'hit'; key: number };
const op: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom('update', 'update', 'delete', 'lookup', 'lookup', 'peek', 'hit'), key: fc.integer({ min: 0, max: 40 }) });

function keyBytes(size: number, id: number, seed: number): Uint8Array {
  const k = new Uint8Array(size);
  for (let i = 0; i < size; i++) k[i] = (id * 31 + i * 7 + seed) & 0xff;
  k[0] = id;
  return k;
}

describe('native BPF hash map = src/maps/hash-map.ts', () => {
  for (const [name, struct] of [['8-byte keys (jhash2)', k8], ['14-byte keys (jhash)', k14], ['23-byte keys (jhash, > 12)', k23]] as const) {
    for (const lru of [false, true]) {
      it(`${lru ? 'LRU hash' : 'hash'}, ${name}: same offsets, same bytes after every lookup`, () => {
        fc.assert(fc.property(fc.array(op, { maxLength: 120, size: 'max' }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 4, max: 24 }), (ops, seed, max) => {
          const spec = { name: 'm_v1', key: struct, value: val, maxEntries: max, seed };
          const ts = lru ? new LruHashMap(spec) : new HashMap(spec);
          const nat = lru ? new LruHashMap(spec) : new HashMap(spec);
          const h = addon.attachBpfHash(nat.bytes);
          ops.forEach((o, i) => {
            const k = keyBytes(struct.size, o.key, seed & 0xff);
            if (o.kind === 'update' || o.kind === 'delete') {
              const v = val.encode({ v: i, w: o.key });
              expect(o.kind === 'update' ? nat.update(k, v) : nat.delete(k)).toBe(o.kind === 'update' ? ts.update(k, v) : ts.delete(k));
            } else if (o.kind === 'lookup') {
              expect(addon.bpfHashLookup(h, k, 0)).toBe(ts.lookup(k));
            } else if (o.kind === 'hit') {
              // The stages' lookup: a peek, then hit() on the entry it found (a miss counts nothing natively).
              const expected = ts.lookup(k);
              const before = nat.bytes.slice();
              expect(addon.bpfHashLookup(h, k, 2)).toBe(expected);
              if (expected < 0) {
                // A miss changes nothing in this form; the plain lookup then counts it as the TS one did.
                expect(nat.bytes).toEqual(before);
                expect(addon.bpfHashLookup(h, k, 0)).toBe(-1);
              }
            } else {
              const before = nat.bytes.slice();
              const off = addon.bpfHashLookup(h, k, 1);
              expect(nat.bytes).toEqual(before);
              // A peek finds what a lookup finds; the TS map takes the lookup so the twins stay in step below.
              expect(off).toBe(ts.lookup(k));
              expect(addon.bpfHashLookup(h, k, 0)).toBe(off);
            }
            expect(nat.bytes).toEqual(ts.bytes);
          });
        }), { numRuns: 40, seed: 0xb9f });
      });
    }
  }

  it('refuses a buffer that is not a hash map', () => {
    expect(() => addon.attachBpfHash(new Uint8Array(256))).toThrow(/not a hash/);
  });
});
