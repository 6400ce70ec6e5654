/**
 * What every map kind shares: the header at the start of its ArrayBuffer, 64-bit stats counters kept
 * inside that buffer (so the native addon counts in the same place), and the layout description.
 *
 * Header (64 bytes, all u32 host order; "map header v1", docs/maps.md):
 *   0 magic 0x4d504544 ('DEPM' little-endian)   4 layout version (1)
 *   8 kind (1 array, 2 hash, 3 lru_hash, 4 lpm_trie)
 *  12 key_size  16 value_size  20 max_entries  24 count (live entries)  28 seed (hash maps)
 *  32..63 kind-specific words (see each map)
 * Stats (64 bytes at offset 64): 8 counters, each u64 as (lo u32, hi u32):
 *   lookups, hits, misses, inserts, updates, deletes, full, evicted.
 */
import { MapSpecError } from './errors.js';
import type { StructDef } from './schema.js';

export const MAP_MAGIC = 0x4d504544;
export const MAP_LAYOUT_VERSION = 1;
export const HEADER_BYTES = 64;
export const STATS_BYTES = 64;
export const DATA_OFFSET = HEADER_BYTES + STATS_BYTES;

export const KIND_ARRAY = 1;
export const KIND_HASH = 2;
export const KIND_LRU_HASH = 3;
export const KIND_LPM_TRIE = 4;
export type MapKind = 'array' | 'hash' | 'lru_hash' | 'lpm_trie';

/** Header word indexes (Uint32Array over the buffer). */
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_KIND = 2;
export const H_KEY_SIZE = 3;
export const H_VALUE_SIZE = 4;
export const H_MAX = 5;
export const H_COUNT = 6;
export const H_SEED = 7;

/** Stat word indexes: counter i is words S_BASE + 2i (lo) and S_BASE + 2i + 1 (hi). */
const S_BASE = HEADER_BYTES / 4;
export const ST_LOOKUPS = S_BASE;
export const ST_HITS = S_BASE + 2;
export const ST_MISSES = S_BASE + 4;
export const ST_INSERTS = S_BASE + 6;
export const ST_UPDATES = S_BASE + 8;
export const ST_DELETES = S_BASE + 10;
export const ST_FULL = S_BASE + 12;
export const ST_EVICTED = S_BASE + 14;

export interface MapStats {
  lookups: number;
  hits: number;
  misses: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** Inserts refused because the map was full (the kernel's -E2BIG for hash, -ENOSPC for LPM). */
  full: number;
  /** LRU only: entries dropped to make room. */
  evicted: number;
}

export interface LayoutRegion {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly description: string;
}

export interface MapLayout {
  readonly name: string;
  readonly kind: MapKind;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly totalBytes: number;
  readonly regions: readonly LayoutRegion[];
  /** Per-entry record layout (offsets inside one entry / node). */
  readonly entry: readonly LayoutRegion[];
  readonly entryStride: number;
}

export interface MapSpec<K extends StructDef = StructDef, V extends StructDef = StructDef> {
  /** Map name, `_v<N>` suffixed (e.g. lb4_services_v1). */
  readonly name: string;
  readonly key: K;
  readonly value: V;
  readonly maxEntries: number;
  /** Hash seed (the kernel's hashrnd); fixed by default so a replay is repeatable. */
  readonly seed?: number;
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function checkSpec(spec: MapSpec, kindName: string): void {
  if (!/_v[0-9]+$/.test(spec.name)) {
    throw new MapSpecError('MAP_UNVERSIONED', `${kindName} '${spec.name}': map names need a version suffix such as '_v1'`);
  }
  if (!Number.isInteger(spec.maxEntries) || spec.maxEntries <= 0 || spec.maxEntries > 0x4000_0000) {
    throw new MapSpecError('MAP_BAD_MAX_ENTRIES', `${kindName} '${spec.name}': max_entries must be an integer in 1..2^30, got ${spec.maxEntries}`);
  }
}

/** Increment a u64 counter held as (lo, hi) words. */
export function bump(w: Uint32Array, i: number): void {
  const v = (w[i] + 1) >>> 0;
  w[i] = v;
  if (v === 0) w[i + 1] = w[i + 1] + 1;
}

function counter(w: Uint32Array, i: number): number {
  return w[i] + w[i + 1] * 0x1_0000_0000;
}

export function readStats(w: Uint32Array): MapStats {
  return {
    lookups: counter(w, ST_LOOKUPS), hits: counter(w, ST_HITS), misses: counter(w, ST_MISSES),
    inserts: counter(w, ST_INSERTS), updates: counter(w, ST_UPDATES), deletes: counter(w, ST_DELETES),
    full: counter(w, ST_FULL), evicted: counter(w, ST_EVICTED),
  };
}

export function writeHeader(w: Uint32Array, kind: number, spec: MapSpec, seed: number): void {
  w[H_MAGIC] = MAP_MAGIC;
  w[H_VERSION] = MAP_LAYOUT_VERSION;
  w[H_KIND] = kind;
  w[H_KEY_SIZE] = spec.key.size;
  w[H_VALUE_SIZE] = spec.value.size;
  w[H_MAX] = spec.maxEntries;
  w[H_COUNT] = 0;
  w[H_SEED] = seed >>> 0;
}

export const HEADER_REGIONS: readonly LayoutRegion[] = [
  { name: 'header', offset: 0, size: HEADER_BYTES, description: 'magic, version, kind, key_size, value_size, max_entries, count, seed, kind words' },
  { name: 'stats', offset: HEADER_BYTES, size: STATS_BYTES, description: 'u64 lookups, hits, misses, inserts, updates, deletes, full, evicted' },
];

export interface DumpEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** What every map kind offers; the hot calls work on bytes and offsets, never objects. */
export interface BpfMap {
  readonly name: string;
  readonly kind: MapKind;
  readonly maxEntries: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** The one ArrayBuffer holding header, stats and entries. */
  readonly buffer: ArrayBuffer;
  /** Uint8Array over `buffer`; value offsets returned by lookup() index into it. */
  readonly bytes: Uint8Array;
  /** Byte offset of the value in `bytes`, or -1. The value may be read and written in place. */
  lookup(key: Uint8Array, keyOff?: number): number;
  /** 0 or a negative errno (E2BIG, EEXIST, ENOENT, ENOSPC, EINVAL). */
  update(key: Uint8Array, value: Uint8Array, flags?: number, keyOff?: number, valueOff?: number): number;
  delete(key: Uint8Array, keyOff?: number): number;
  readonly count: number;
  stats(): MapStats;
  entries(): IterableIterator<DumpEntry>;
  layout(): MapLayout;
}
