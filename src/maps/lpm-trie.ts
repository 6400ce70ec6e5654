/**
 * BPF_MAP_TYPE_LPM_TRIE over one ArrayBuffer, the kernel's algorithm (kernel/bpf/lpm_trie.c): a
 * path-compressed binary trie whose nodes hold a prefix; intermediate nodes (flag IM) exist only to
 * split two subtrees and carry no value. A lookup visits at most max_prefixlen + 1 nodes (33 for IPv4).
 *
 * Key: struct bpf_lpm_trie_key { u32 prefixlen (host order); u8 data[] } — the key schema's first field
 * must be `prefixlen` u32; the rest (e.g. addr u32be) is data, matched most significant bit first.
 * max_prefixlen = 8 * (key_size - 4). Lookup keys normally carry prefixlen = max_prefixlen.
 *
 * Memory: [header 64][stats 64][nodes: 2 * max_entries x stride]
 *   Node (stride = round_up(16 + round_up(data_size, 8) + value_size, 8)):
 *     0 child0 i32   4 child1 i32   (-1 none; free nodes chain through child0)
 *     8 prefixlen u32   12 flags u32 (bit0 in use, bit1 intermediate)
 *    16 data (data_size bytes, zero-padded to 8)   16 + round_up(data_size, 8) value
 *   Header kind words: 32 root (i32), 36 free head (i32), 40 high-water mark, 44 node capacity, 48 max_prefixlen.
 * Intermediate nodes always have two children, so there are fewer of them than entries: 2 * max_entries
 * nodes always suffice. A full map (max_entries real prefixes) refuses a new prefix with ENOSPC, as the kernel.
 */
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, EEXIST, EINVAL, ENOENT, ENOSPC, MAP_OK, MapSpecError } from './errors.js';
import {
  DATA_OFFSET, HEADER_REGIONS, H_COUNT, KIND_LPM_TRIE, ST_DELETES, ST_FULL, ST_HITS, ST_INSERTS, ST_LOOKUPS, ST_MISSES,
  ST_UPDATES, alignUp, bump, checkSpec, readStats, writeHeader,
} from './map-common.js';
import type { BpfMap, DumpEntry, MapLayout, MapSpec, MapStats } from './map-common.js';
import { readU32le } from './schema.js';

const H_ROOT = 8;
const H_FREE = 9;
const H_HWM = 10;
const H_CAP = 11;
const H_MAXPFX = 12;

const N_C0 = 0;
const N_PFX = 2;
const N_FLAGS = 3;
const NODE_HDR = 16;
const F_USED = 1;
const F_IM = 2;

export class LpmTrieMap implements BpfMap {
  readonly name: string;
  readonly kind = 'lpm_trie' as const;
  readonly maxEntries: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly dataSize: number;
  readonly maxPrefixlen: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly nodeStride: number;
  readonly nodeCapacity: number;
  readonly valueOffset: number;
  readonly nodesOffset = DATA_OFFSET;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly strideWords: number;
  private readonly nodesWord = DATA_OFFSET >>> 2;

  constructor(spec: MapSpec) {
    checkSpec(spec, 'LpmTrieMap');
    const first = spec.key.fields[0];
    if (!first || first.name !== 'prefixlen' || first.type !== 'u32' || spec.key.size <= 4) {
      throw new MapSpecError('MAP_BAD_KEY',
        `LpmTrieMap '${spec.name}': key must start with ['prefixlen', 'u32'] followed by data bytes (struct bpf_lpm_trie_key)`);
    }
    this.name = spec.name;
    this.maxEntries = spec.maxEntries;
    this.keySize = spec.key.size;
    this.valueSize = spec.value.size;
    this.dataSize = this.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.valueOffset = NODE_HDR + alignUp(this.dataSize, 8);
    this.nodeStride = alignUp(this.valueOffset + this.valueSize, 8);
    this.strideWords = this.nodeStride >>> 2;
    this.nodeCapacity = 2 * this.maxEntries;
    this.buffer = new ArrayBuffer(DATA_OFFSET + this.nodeCapacity * this.nodeStride);
    this.bytes = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    writeHeader(this.u32, KIND_LPM_TRIE, spec, 0);
    this.i32[H_ROOT] = -1;
    this.i32[H_FREE] = -1;
    this.u32[H_HWM] = 0;
    this.u32[H_CAP] = this.nodeCapacity;
    this.u32[H_MAXPFX] = this.maxPrefixlen;
  }

  get count(): number {
    return this.u32[H_COUNT];
  }

  stats(): MapStats {
    return readStats(this.u32);
  }

  private nodeWord(n: number): number {
    return this.nodesWord + n * this.strideWords;
  }

  /** Bit `index` (0 = most significant bit of data[0]) of the data at byte offset p. */
  private bit(b: Uint8Array, p: number, index: number): number {
    return (b[p + (index >>> 3)] >>> (7 - (index & 7))) & 1;
  }

  /** longest_prefix_match(): leading bits node n shares with the key, capped at both prefixlens. */
  private match(n: number, key: Uint8Array, keyOff: number, keyPfx: number): number {
    const w = this.nodeWord(n);
    const limit = Math.min(this.u32[w + N_PFX], keyPfx);
    const nd = (w << 2) + NODE_HDR;
    const kd = keyOff + 4;
    const bytes = this.bytes;
    let len = 0;
    for (let i = 0; i < this.dataSize && len < limit; i++) {
      const diff = bytes[nd + i] ^ key[kd + i];
      if (diff !== 0) {
        len += Math.clz32(diff) - 24;
        break;
      }
      len += 8;
    }
    return Math.min(len, limit);
  }

  lookup(key: Uint8Array, keyOff = 0): number {
    bump(this.u32, ST_LOOKUPS);
    const u32 = this.u32;
    const i32 = this.i32;
    const keyPfx = Math.min(readU32le(key, keyOff), this.maxPrefixlen);
    let found = -1;
    let n = i32[H_ROOT];
    while (n >= 0) {
      const w = this.nodeWord(n);
      const m = this.match(n, key, keyOff, keyPfx);
      const np = u32[w + N_PFX];
      if (m === this.maxPrefixlen) {
        found = n;
        break;
      }
      if (m < np) break;
      if ((u32[w + N_FLAGS] & F_IM) === 0) found = n;
      n = i32[w + N_C0 + this.bit(key, keyOff + 4, np)];
    }
    if (found < 0) {
      bump(u32, ST_MISSES);
      return -1;
    }
    bump(u32, ST_HITS);
    return (this.nodeWord(found) << 2) + this.valueOffset;
  }

  private allocNode(): number {
    const f = this.i32[H_FREE];
    if (f >= 0) {
      this.i32[H_FREE] = this.i32[this.nodeWord(f) + N_C0];
      return f;
    }
    const hwm = this.u32[H_HWM];
    this.u32[H_HWM] = hwm + 1;
    return hwm;
  }

  private freeNode(n: number): void {
    const w = this.nodeWord(n);
    this.u32[w + N_FLAGS] = 0;
    this.i32[w + N_C0] = this.i32[H_FREE];
    this.i32[H_FREE] = n;
  }

  /** Writes a fresh node: prefix, flags, data (from src at dataOff), value (optional), no children. */
  private initNode(n: number, pfx: number, flags: number, src: Uint8Array, dataOff: number, value?: Uint8Array, valueOff = 0): void {
    const w = this.nodeWord(n);
    const b = w << 2;
    this.bytes.fill(0, b, b + this.nodeStride);
    this.i32[w] = -1;
    this.i32[w + 1] = -1;
    this.u32[w + N_PFX] = pfx;
    this.u32[w + N_FLAGS] = flags;
    this.bytes.set(src.subarray(dataOff, dataOff + this.dataSize), b + NODE_HDR);
    if (value) this.bytes.set(value.subarray(valueOff, valueOff + this.valueSize), b + this.valueOffset);
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    if (flags !== BPF_ANY && flags !== BPF_NOEXIST && flags !== BPF_EXIST) return EINVAL;
    const kp = readU32le(key, keyOff);
    if (kp > this.maxPrefixlen) return EINVAL;
    const u32 = this.u32;
    const i32 = this.i32;
    const full = u32[H_COUNT] >= this.maxEntries;
    let slot = H_ROOT;
    let n = -1;
    let m = 0;
    while ((n = i32[slot]) >= 0) {
      const w = this.nodeWord(n);
      const np = u32[w + N_PFX];
      m = this.match(n, key, keyOff, kp);
      if (np !== m || np === kp || np === this.maxPrefixlen) break;
      slot = w + N_C0 + this.bit(key, keyOff + 4, np);
    }
    if (n >= 0 && u32[this.nodeWord(n) + N_PFX] === m) {
      // Same prefix: replace the value in place (the kernel swaps in a new node; same visible effect).
      const w = this.nodeWord(n);
      if ((u32[w + N_FLAGS] & F_IM) === 0) {
        if (flags === BPF_NOEXIST) return EEXIST;
        this.bytes.set(value.subarray(valueOff, valueOff + this.valueSize), (w << 2) + this.valueOffset);
        bump(u32, ST_UPDATES);
        return MAP_OK;
      }
      if (flags === BPF_EXIST) return ENOENT;
      if (full) return this.refuse();
      u32[w + N_FLAGS] = F_USED;
      // An intermediate node carries the data of one child; a real node must carry the key's own bits.
      this.bytes.set(key.subarray(keyOff + 4, keyOff + 4 + this.dataSize), (w << 2) + NODE_HDR);
      this.bytes.set(value.subarray(valueOff, valueOff + this.valueSize), (w << 2) + this.valueOffset);
      u32[H_COUNT] = u32[H_COUNT] + 1;
      bump(u32, ST_INSERTS);
      return MAP_OK;
    }
    if (flags === BPF_EXIST) return ENOENT;
    if (full) return this.refuse();
    const nn = this.allocNode();
    this.initNode(nn, kp, F_USED, key, keyOff + 4, value, valueOff);
    if (n < 0) {
      i32[slot] = nn;
    } else if (m === kp) {
      // The new prefix is an ancestor of n.
      const nb = (this.nodeWord(n) << 2) + NODE_HDR;
      i32[this.nodeWord(nn) + N_C0 + this.bit(this.bytes, nb, m)] = n;
      i32[slot] = nn;
    } else {
      // Split: an intermediate node at the common prefix, n and the new node below it.
      const im = this.allocNode();
      const nb = (this.nodeWord(n) << 2) + NODE_HDR;
      this.initNode(im, m, F_USED | F_IM, this.bytes, nb);
      const iw = this.nodeWord(im);
      if (this.bit(key, keyOff + 4, m) === 1) {
        i32[iw] = n;
        i32[iw + 1] = nn;
      } else {
        i32[iw] = nn;
        i32[iw + 1] = n;
      }
      i32[slot] = im;
    }
    u32[H_COUNT] = u32[H_COUNT] + 1;
    bump(u32, ST_INSERTS);
    return MAP_OK;
  }

  private refuse(): number {
    bump(this.u32, ST_FULL);
    return ENOSPC;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    const kp = readU32le(key, keyOff);
    if (kp > this.maxPrefixlen) return EINVAL;
    const u32 = this.u32;
    const i32 = this.i32;
    let trim = H_ROOT;
    let trim2 = trim;
    let parent = -1;
    let n = -1;
    let m = 0;
    while ((n = i32[trim]) >= 0) {
      const w = this.nodeWord(n);
      const np = u32[w + N_PFX];
      m = this.match(n, key, keyOff, kp);
      if (np !== m || np === kp) break;
      parent = n;
      trim2 = trim;
      trim = w + N_C0 + this.bit(key, keyOff + 4, np);
    }
    if (n < 0) return ENOENT;
    const w = this.nodeWord(n);
    if (u32[w + N_PFX] !== kp || u32[w + N_PFX] !== m || (u32[w + N_FLAGS] & F_IM) !== 0) return ENOENT;
    u32[H_COUNT] = u32[H_COUNT] - 1;
    bump(u32, ST_DELETES);
    const c0 = i32[w];
    const c1 = i32[w + 1];
    if (c0 >= 0 && c1 >= 0) {
      u32[w + N_FLAGS] = F_USED | F_IM;
      return MAP_OK;
    }
    if (parent >= 0 && (u32[this.nodeWord(parent) + N_FLAGS] & F_IM) !== 0 && c0 < 0 && c1 < 0) {
      const pw = this.nodeWord(parent);
      i32[trim2] = i32[pw] === n ? i32[pw + 1] : i32[pw];
      this.freeNode(parent);
      this.freeNode(n);
      return MAP_OK;
    }
    i32[trim] = c0 >= 0 ? c0 : c1;
    this.freeNode(n);
    return MAP_OK;
  }

  /** Real (non-intermediate) prefixes in pre-order; keys are {prefixlen, data}. Copies. */
  *entries(): IterableIterator<DumpEntry> {
    const stack: number[] = [];
    if (this.i32[H_ROOT] >= 0) stack.push(this.i32[H_ROOT]);
    while (stack.length > 0) {
      const n = stack.pop() as number;
      const w = this.nodeWord(n);
      const b = w << 2;
      if (this.i32[w + 1] >= 0) stack.push(this.i32[w + 1]);
      if (this.i32[w] >= 0) stack.push(this.i32[w]);
      if ((this.u32[w + N_FLAGS] & F_IM) !== 0) continue;
      const key = new Uint8Array(this.keySize);
      const p = this.u32[w + N_PFX];
      key[0] = p; key[1] = p >>> 8; key[2] = p >>> 16; key[3] = p >>> 24;
      key.set(this.bytes.subarray(b + NODE_HDR, b + NODE_HDR + this.dataSize), 4);
      yield { key, value: this.bytes.slice(b + this.valueOffset, b + this.valueOffset + this.valueSize) };
    }
  }

  layout(): MapLayout {
    return {
      name: this.name, kind: this.kind, keySize: this.keySize, valueSize: this.valueSize, maxEntries: this.maxEntries,
      totalBytes: this.buffer.byteLength,
      regions: [
        ...HEADER_REGIONS,
        { name: 'nodes', offset: this.nodesOffset, size: this.nodeCapacity * this.nodeStride, description: `${this.nodeCapacity} x ${this.nodeStride}-byte trie nodes` },
      ],
      entry: [
        { name: 'child0', offset: 0, size: 4, description: 'i32 child for next bit 0, -1 none; free list link' },
        { name: 'child1', offset: 4, size: 4, description: 'i32 child for next bit 1, -1 none' },
        { name: 'prefixlen', offset: 8, size: 4, description: 'u32 prefix length in bits' },
        { name: 'flags', offset: 12, size: 4, description: 'u32 bit0 in use, bit1 intermediate' },
        { name: 'data', offset: NODE_HDR, size: this.dataSize, description: 'prefix bytes, zero-padded to 8' },
        { name: 'value', offset: this.valueOffset, size: this.valueSize, description: 'value bytes (unused in intermediate nodes)' },
      ],
      entryStride: this.nodeStride,
    };
  }
}
