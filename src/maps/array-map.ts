/**
 * BPF_MAP_TYPE_ARRAY over one ArrayBuffer: [header 64][stats 64][values: max_entries x round_up(value_size, 8)].
 * Key is a u32 index (host order). Every index exists from the start (zeroed), as in the kernel: an
 * update with BPF_NOEXIST fails with EEXIST, delete fails with EINVAL, an index >= max_entries misses on
 * lookup and fails with E2BIG on update (array_map_update_elem).
 */
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, EINVAL, MAP_OK, MapSpecError } from './errors.js';
import {
  DATA_OFFSET, HEADER_REGIONS, KIND_ARRAY, ST_HITS, ST_LOOKUPS, ST_MISSES, ST_UPDATES, alignUp, bump, checkSpec,
  readStats, writeHeader, H_COUNT,
} from './map-common.js';
import type { BpfMap, DumpEntry, MapLayout, MapSpec, MapStats } from './map-common.js';
import { readU32le } from './schema.js';

export class ArrayMap implements BpfMap {
  readonly name: string;
  readonly kind = 'array' as const;
  readonly maxEntries: number;
  readonly keySize = 4;
  readonly valueSize: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly valueStride: number;
  readonly valuesOffset = DATA_OFFSET;
  private readonly u32: Uint32Array;

  constructor(spec: MapSpec) {
    checkSpec(spec, 'ArrayMap');
    if (spec.key.size !== 4) {
      throw new MapSpecError('MAP_BAD_KEY', `ArrayMap '${spec.name}': key must be a 4-byte u32 index, got ${spec.key.size} bytes`);
    }
    this.name = spec.name;
    this.maxEntries = spec.maxEntries;
    this.valueSize = spec.value.size;
    this.valueStride = alignUp(this.valueSize, 8);
    this.buffer = new ArrayBuffer(DATA_OFFSET + this.maxEntries * this.valueStride);
    this.bytes = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    writeHeader(this.u32, KIND_ARRAY, spec, 0);
    this.u32[H_COUNT] = this.maxEntries;
  }

  get count(): number {
    return this.maxEntries;
  }

  stats(): MapStats {
    return readStats(this.u32);
  }

  /** Hot path: value offset of index i, or -1 when out of range. */
  lookupIndex(i: number): number {
    bump(this.u32, ST_LOOKUPS);
    if (i >>> 0 !== i || i >= this.maxEntries) {
      bump(this.u32, ST_MISSES);
      return -1;
    }
    bump(this.u32, ST_HITS);
    return this.valuesOffset + i * this.valueStride;
  }

  lookup(key: Uint8Array, keyOff = 0): number {
    return this.lookupIndex(readU32le(key, keyOff));
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    if (flags !== BPF_ANY && flags !== BPF_NOEXIST && flags !== BPF_EXIST) return EINVAL;
    const i = readU32le(key, keyOff);
    if (i >= this.maxEntries) return E2BIG;
    if (flags === BPF_NOEXIST) return EEXIST;
    this.bytes.set(value.subarray(valueOff, valueOff + this.valueSize), this.valuesOffset + i * this.valueStride);
    bump(this.u32, ST_UPDATES);
    return MAP_OK;
  }

  delete(): number {
    return EINVAL;
  }

  *entries(): IterableIterator<DumpEntry> {
    for (let i = 0; i < this.maxEntries; i++) {
      const key = new Uint8Array(4);
      key[0] = i; key[1] = i >>> 8; key[2] = i >>> 16; key[3] = i >>> 24;
      const b = this.valuesOffset + i * this.valueStride;
      yield { key, value: this.bytes.slice(b, b + this.valueSize) };
    }
  }

  layout(): MapLayout {
    return {
      name: this.name, kind: this.kind, keySize: 4, valueSize: this.valueSize, maxEntries: this.maxEntries,
      totalBytes: this.buffer.byteLength,
      regions: [
        ...HEADER_REGIONS,
        { name: 'values', offset: this.valuesOffset, size: this.maxEntries * this.valueStride, description: `${this.maxEntries} x ${this.valueStride}-byte values` },
      ],
      entry: [{ name: 'value', offset: 0, size: this.valueSize, description: 'value bytes, zero-padded to round_up(value_size, 8)' }],
      entryStride: this.valueStride,
    };
  }
}
