/**
 * BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_LRU_HASH over one ArrayBuffer (layout: docs/maps.md "Hash maps").
 *
 *   [header 64][stats 64][buckets: i32 x n_buckets, padded to 8][entries: max_entries x stride]
 *   n_buckets = roundup_pow_of_two(max_entries), as the kernel's htab_map_alloc.
 *   bucket = htab_map_hash(key) & (n_buckets - 1), htab_map_hash = jhash2/jhash with the map seed.
 *   Entry (stride = round_up(16 + round_up(key_size, 8) + value_size, 8)):
 *     0 next   i32  next entry in the bucket chain, -1 ends it (free entries: next free, -1 ends)
 *     4 prev   i32  LRU list towards the head (most recent); -1 at the head   (LRU maps only)
 *     8 lnext  i32  LRU list towards the tail (least recent); -1 at the tail (LRU maps only)
 *    12 hash   u32  full 32-bit hash, compared before the key bytes
 *    16 key    key_size bytes, then zero bytes up to round_up(key_size, 8) (the kernel's value offset rule)
 *    16 + round_up(key_size, 8)  value  value_size bytes
 *   Header kind words: 32 n_buckets, 36 free head (i32), 40 LRU head, 44 LRU tail, 48 high-water mark
 *   (entries [hwm, max) were never used; allocation takes the free list first, then the high-water mark).
 *
 * Full hash map: update of a new key returns E2BIG and bumps `full` (the kernel's prealloc htab returns
 * -E2BIG when its freelist is empty). LRU map: the least recently used entry is evicted and `evicted` bumped.
 * LRU approximation: the kernel keeps per-CPU/global lists and only sets a "ref" bit on lookup, rotating
 * entries lazily and evicting in batches (bpf_lru_list.c); dpemu keeps one exact doubly-linked list and
 * moves an entry to the head on every hit, so the victim is always the true least recently used entry.
 */
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, EINVAL, ENOENT, MAP_OK, MapSpecError } from './errors.js';
import { htabHash } from './jhash.js';
import {
  DATA_OFFSET, HEADER_REGIONS, H_COUNT, H_SEED, KIND_HASH, KIND_LRU_HASH, ST_DELETES, ST_EVICTED, ST_FULL, ST_HITS,
  ST_INSERTS, ST_LOOKUPS, ST_MISSES, ST_UPDATES, alignUp, bump, checkSpec, readStats, writeHeader,
} from './map-common.js';
import type { BpfMap, DumpEntry, MapKind, MapLayout, MapSpec, MapStats } from './map-common.js';

const H_NBUCKETS = 8;
const H_FREE = 9;
const H_LRU_HEAD = 10;
const H_LRU_TAIL = 11;
const H_HWM = 12;

const E_NEXT = 0;
const E_PREV = 1;
const E_LNEXT = 2;
const E_HASH = 3;
const ENTRY_HDR = 16;

function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class HashMap implements BpfMap {
  readonly name: string;
  readonly kind: MapKind;
  readonly maxEntries: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly nBuckets: number;
  readonly entryStride: number;
  /** Offset of the value inside an entry. */
  readonly valueOffset: number;
  readonly bucketsOffset: number;
  readonly entriesOffset: number;
  protected readonly u32: Uint32Array;
  protected readonly i32: Int32Array;
  protected readonly lru: boolean;
  private readonly mask: number;
  private readonly seed: number;
  private readonly strideWords: number;
  private readonly entriesWord: number;
  private readonly bucketsWord: number;

  constructor(spec: MapSpec, lru = false) {
    const kindName = lru ? 'LruHashMap' : 'HashMap';
    checkSpec(spec, kindName);
    if (spec.key.size === 0) throw new MapSpecError('MAP_BAD_KEY', `${kindName} '${spec.name}': key_size must be > 0`);
    this.name = spec.name;
    this.kind = lru ? 'lru_hash' : 'hash';
    this.lru = lru;
    this.maxEntries = spec.maxEntries;
    this.keySize = spec.key.size;
    this.valueSize = spec.value.size;
    this.nBuckets = roundupPow2(spec.maxEntries);
    this.mask = this.nBuckets - 1;
    this.seed = (spec.seed ?? 0) >>> 0;
    this.valueOffset = ENTRY_HDR + alignUp(this.keySize, 8);
    this.entryStride = alignUp(this.valueOffset + this.valueSize, 8);
    this.bucketsOffset = DATA_OFFSET;
    this.entriesOffset = alignUp(this.bucketsOffset + this.nBuckets * 4, 8);
    this.buffer = new ArrayBuffer(this.entriesOffset + this.maxEntries * this.entryStride);
    this.bytes = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.strideWords = this.entryStride >>> 2;
    this.entriesWord = this.entriesOffset >>> 2;
    this.bucketsWord = this.bucketsOffset >>> 2;
    writeHeader(this.u32, lru ? KIND_LRU_HASH : KIND_HASH, spec, this.seed);
    this.u32[H_NBUCKETS] = this.nBuckets;
    this.i32[H_FREE] = -1;
    this.i32[H_LRU_HEAD] = -1;
    this.i32[H_LRU_TAIL] = -1;
    this.u32[H_HWM] = 0;
    this.i32.fill(-1, this.bucketsWord, this.bucketsWord + this.nBuckets);
  }

  get count(): number {
    return this.u32[H_COUNT];
  }

  stats(): MapStats {
    return readStats(this.u32);
  }

  /** Byte offset of entry `e`'s value. */
  valueAt(e: number): number {
    return this.entriesOffset + e * this.entryStride + this.valueOffset;
  }

  private find(key: Uint8Array, keyOff: number, hash: number): number {
    const i32 = this.i32;
    const bytes = this.bytes;
    const ks = this.keySize;
    let e = i32[this.bucketsWord + (hash & this.mask)];
    while (e >= 0) {
      const w = this.entriesWord + e * this.strideWords;
      if (this.u32[w + E_HASH] === hash) {
        const kb = (w << 2) + ENTRY_HDR;
        let i = 0;
        while (i < ks && bytes[kb + i] === key[keyOff + i]) i++;
        if (i === ks) return e;
      }
      e = i32[w + E_NEXT];
    }
    return -1;
  }

  lookup(key: Uint8Array, keyOff = 0): number {
    const u32 = this.u32;
    bump(u32, ST_LOOKUPS);
    const e = this.find(key, keyOff, htabHash(key, keyOff, this.keySize, this.seed));
    if (e < 0) {
      bump(u32, ST_MISSES);
      return -1;
    }
    bump(u32, ST_HITS);
    if (this.lru) this.touch(e);
    return this.valueAt(e);
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    if (flags !== BPF_ANY && flags !== BPF_NOEXIST && flags !== BPF_EXIST) return EINVAL;
    const hash = htabHash(key, keyOff, this.keySize, this.seed);
    let e = this.find(key, keyOff, hash);
    if (e >= 0) {
      if (flags === BPF_NOEXIST) return EEXIST;
      this.bytes.set(value.subarray(valueOff, valueOff + this.valueSize), this.valueAt(e));
      if (this.lru) this.touch(e);
      bump(this.u32, ST_UPDATES);
      return MAP_OK;
    }
    if (flags === BPF_EXIST) return ENOENT;
    e = this.alloc();
    if (e < 0) {
      bump(this.u32, ST_FULL);
      return E2BIG;
    }
    const w = this.entriesWord + e * this.strideWords;
    const b = w << 2;
    this.bytes.fill(0, b, b + this.entryStride);
    this.u32[w + E_HASH] = hash;
    this.bytes.set(key.subarray(keyOff, keyOff + this.keySize), b + ENTRY_HDR);
    this.bytes.set(value.subarray(valueOff, valueOff + this.valueSize), b + this.valueOffset);
    const bw = this.bucketsWord + (hash & this.mask);
    this.i32[w + E_NEXT] = this.i32[bw];
    this.i32[bw] = e;
    if (this.lru) this.pushHead(e);
    this.u32[H_COUNT] = this.u32[H_COUNT] + 1;
    bump(this.u32, ST_INSERTS);
    return MAP_OK;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    const hash = htabHash(key, keyOff, this.keySize, this.seed);
    const e = this.find(key, keyOff, hash);
    if (e < 0) return ENOENT;
    this.remove(e, hash);
    bump(this.u32, ST_DELETES);
    return MAP_OK;
  }

  /** Unlinks entry e (bucket chain, LRU list) and puts it on the free list. */
  private remove(e: number, hash: number): void {
    const i32 = this.i32;
    const w = this.entriesWord + e * this.strideWords;
    let slot = this.bucketsWord + (hash & this.mask);
    while (i32[slot] !== e) slot = this.entriesWord + i32[slot] * this.strideWords + E_NEXT;
    i32[slot] = i32[w + E_NEXT];
    if (this.lru) this.unlinkLru(e);
    i32[w + E_NEXT] = i32[H_FREE];
    i32[H_FREE] = e;
    this.u32[H_COUNT] = this.u32[H_COUNT] - 1;
  }

  private alloc(): number {
    const i32 = this.i32;
    const f = i32[H_FREE];
    if (f >= 0) {
      i32[H_FREE] = i32[this.entriesWord + f * this.strideWords + E_NEXT];
      return f;
    }
    const hwm = this.u32[H_HWM];
    if (hwm < this.maxEntries) {
      this.u32[H_HWM] = hwm + 1;
      return hwm;
    }
    if (!this.lru) return -1;
    const victim = i32[H_LRU_TAIL];
    this.remove(victim, this.u32[this.entriesWord + victim * this.strideWords + E_HASH]);
    bump(this.u32, ST_EVICTED);
    return this.alloc();
  }

  private unlinkLru(e: number): void {
    const i32 = this.i32;
    const w = this.entriesWord + e * this.strideWords;
    const prev = i32[w + E_PREV];
    const next = i32[w + E_LNEXT];
    if (prev >= 0) i32[this.entriesWord + prev * this.strideWords + E_LNEXT] = next;
    else i32[H_LRU_HEAD] = next;
    if (next >= 0) i32[this.entriesWord + next * this.strideWords + E_PREV] = prev;
    else i32[H_LRU_TAIL] = prev;
  }

  private pushHead(e: number): void {
    const i32 = this.i32;
    const w = this.entriesWord + e * this.strideWords;
    const head = i32[H_LRU_HEAD];
    i32[w + E_PREV] = -1;
    i32[w + E_LNEXT] = head;
    if (head >= 0) i32[this.entriesWord + head * this.strideWords + E_PREV] = e;
    else i32[H_LRU_TAIL] = e;
    i32[H_LRU_HEAD] = e;
  }

  private touch(e: number): void {
    if (this.i32[H_LRU_HEAD] === e) return;
    this.unlinkLru(e);
    this.pushHead(e);
  }

  /** Copy of the value for `key`, or undefined. Control-plane helper (allocates). Counts as a lookup. */
  get(key: Uint8Array): Uint8Array | undefined {
    const off = this.lookup(key);
    return off < 0 ? undefined : this.bytes.slice(off, off + this.valueSize);
  }

  /** Entries in bucket order (as the kernel's get_next_key walks them); copies. */
  *entries(): IterableIterator<DumpEntry> {
    for (let bkt = 0; bkt < this.nBuckets; bkt++) {
      let e = this.i32[this.bucketsWord + bkt];
      while (e >= 0) {
        const b = this.entriesOffset + e * this.entryStride;
        yield {
          key: this.bytes.slice(b + ENTRY_HDR, b + ENTRY_HDR + this.keySize),
          value: this.bytes.slice(b + this.valueOffset, b + this.valueOffset + this.valueSize),
        };
        e = this.i32[(b >>> 2) + E_NEXT];
      }
    }
  }

  layout(): MapLayout {
    const entry = [
      { name: 'next', offset: 0, size: 4, description: 'i32 next entry in bucket chain / free list, -1 ends' },
      { name: 'lru_prev', offset: 4, size: 4, description: 'i32 LRU neighbour towards head (LRU maps)' },
      { name: 'lru_next', offset: 8, size: 4, description: 'i32 LRU neighbour towards tail (LRU maps)' },
      { name: 'hash', offset: 12, size: 4, description: 'u32 htab_map_hash(key, seed)' },
      { name: 'key', offset: ENTRY_HDR, size: this.keySize, description: 'key bytes, zero-padded to round_up(key_size, 8)' },
      { name: 'value', offset: this.valueOffset, size: this.valueSize, description: 'value bytes' },
    ];
    return {
      name: this.name, kind: this.kind, keySize: this.keySize, valueSize: this.valueSize, maxEntries: this.maxEntries,
      totalBytes: this.buffer.byteLength,
      regions: [
        ...HEADER_REGIONS,
        { name: 'buckets', offset: this.bucketsOffset, size: this.nBuckets * 4, description: `i32 chain heads x ${this.nBuckets}, -1 empty` },
        { name: 'entries', offset: this.entriesOffset, size: this.maxEntries * this.entryStride, description: `${this.maxEntries} x ${this.entryStride}-byte entries` },
      ],
      entry, entryStride: this.entryStride,
    };
  }

  /** The seed the bucket hash uses (header word 7). */
  get hashSeed(): number {
    return this.u32[H_SEED];
  }
}

/** BPF_MAP_TYPE_LRU_HASH: a full map evicts its least recently used entry instead of refusing. */
export class LruHashMap extends HashMap {
  constructor(spec: MapSpec) {
    super(spec, true);
  }
}
