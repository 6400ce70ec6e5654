import { describe, expect, it } from 'vitest';
import { ArrayMap } from '../../src/maps/array-map.js';
import { BPF_NOEXIST, E2BIG, EEXIST, EINVAL, MapSpecError } from '../../src/maps/errors.js';
import { defineStruct } from '../../src/maps/schema.js';

const idx = defineStruct('index_v1', [['index', 'u32']]);
const val = defineStruct('val6_v1', [['a', 'u32'], ['b', 'u16']], { packed: true });

describe('ArrayMap', () => {
  it('every index exists, values sit at round_up(value_size, 8) strides', () => {
    const m = new ArrayMap({ name: 'arr_v1', key: idx, value: val, maxEntries: 4 });
    expect(m.valueStride).toBe(8);
    expect(m.lookup(idx.encode({ index: 3 }))).toBe(128 + 24);
    expect(m.lookup(idx.encode({ index: 4 }))).toBe(-1);
    expect(m.update(idx.encode({ index: 2 }), val.encode({ a: 7, b: 9 }))).toBe(0);
    expect(val.decode(m.bytes, m.lookupIndex(2))).toEqual({ a: 7, b: 9 });
    expect(m.update(idx.encode({ index: 4 }), val.encode({}))).toBe(E2BIG);
    expect(m.update(idx.encode({ index: 1 }), val.encode({}), BPF_NOEXIST)).toBe(EEXIST);
    expect(m.delete()).toBe(EINVAL);
    expect([...m.entries()].length).toBe(4);
    expect(m.stats()).toMatchObject({ lookups: 3, hits: 2, misses: 1, updates: 1 });
  });
  it('key must be a u32 index', () => {
    expect(() => new ArrayMap({ name: 'arr_v1', key: val, value: val, maxEntries: 4 })).toThrowError(MapSpecError);
  });
});
