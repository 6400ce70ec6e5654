/**
 * Maglev consistent hashing as Cilium computes it (pkg/maglev/maglev.go), so a dpemu table equals the
 * agent's for the same backends, table size and seed:
 *  - M is one of Cilium's supported primes (MAGLEV_TABLE_SIZES); anything else is MaglevConfigError.
 *  - The seed is Cilium's base64 --bpf-lb-maglev-hash-seed (12 bytes): bytes 0..3 big-endian are the
 *    murmur seed, 4..7 HASH_INIT4_SEED (jhash, IPv4 flows), 8..11 HASH_INIT6_SEED.
 *  - Each backend is named by its hash string "[<ip>:<port>/<proto>[/i],State:active]" (IPv6 "[[<ip>]:...")
 *    and backends are sorted by it; (h1, h2) = MurmurHash3_x64_128(name, seedMurmur),
 *    offset = h1 % M, skip = h2 % (M - 1) + 1, permutation[j] = (offset + j * skip) % M.
 *  - The table is filled by turns as in the Maglev paper; when weights are in use (sum / N > 1) a
 *    backend's turn is skipped while (n + 1) * weight < its counter, the counter starting at weight / N
 *    and growing by the weight sum on every slot it takes (Cilium's Envoy-inspired scheme).
 *    Equal weights give the paper's plain round robin.
 *  - Datapath lookup: table[hash(tuple) % M], hash = jhash_3words(saddr, dport << 16 | sport, nexthdr,
 *    HASH_INIT4_SEED) over the tuple fields as loaded from memory (bpf/lib/hash.h hash_from_tuple_v4;
 *    daddr is left out on purpose so a client picks the same backend through any VIP of the service).
 * dpemu leaves weight-0 backends out of the table (they take no new flows).
 */
import { DpemuError } from '../util/errors.js';
import { jhash3words } from '../maps/jhash.js';
import { murmur3x64128 } from './murmur3.js';

export const MAGLEV_TABLE_SIZES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
export type MaglevTableSize = (typeof MAGLEV_TABLE_SIZES)[number];
export const MAGLEV_DEFAULT_TABLE_SIZE: MaglevTableSize = 16381;
/** Cilium's DefaultHashSeed. */
export const MAGLEV_DEFAULT_HASH_SEED = 'JLfvgnHc2kaSUFaI';
/** Cilium's DefaultBackendWeight. */
export const MAGLEV_DEFAULT_WEIGHT = 100;

export class MaglevConfigError extends DpemuError {}

export interface MaglevConfig {
  readonly tableSize: MaglevTableSize;
  readonly seedMurmur: number;
  readonly seedJhash0: number;
  readonly seedJhash1: number;
}

export function maglevConfig(options: { tableSize?: number; hashSeed?: string } = {}): MaglevConfig {
  const m = options.tableSize ?? MAGLEV_DEFAULT_TABLE_SIZE;
  if (!(MAGLEV_TABLE_SIZES as readonly number[]).includes(m)) {
    throw new MaglevConfigError('MAGLEV_BAD_TABLE_SIZE',
      `Maglev table size ${m} is not supported; use one of ${MAGLEV_TABLE_SIZES.join(', ')} (Cilium's --bpf-lb-maglev-table-size primes)`);
  }
  const seed = options.hashSeed ?? MAGLEV_DEFAULT_HASH_SEED;
  const d = Buffer.from(seed, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(seed) || d.length !== 12) {
    throw new MaglevConfigError('MAGLEV_BAD_SEED',
      `Maglev hash seed '${seed}' must be base64 of exactly 12 bytes (got ${d.length}); make one with: head -c12 /dev/urandom | base64 -w0`);
  }
  return {
    tableSize: m as MaglevTableSize,
    seedMurmur: d.readUInt32BE(0),
    seedJhash0: d.readUInt32BE(4),
    seedJhash1: d.readUInt32BE(8),
  };
}

export interface MaglevBackend {
  /** Backend id written into the table (lb4_backends_v1 key). */
  readonly id: number;
  readonly address: string;
  readonly port: number;
  /** Cilium's L4 type string: TCP, UDP, SCTP or ANY. */
  readonly protocol: string;
  /** Default MAGLEV_DEFAULT_WEIGHT (100). */
  readonly weight?: number;
  /** Service scope internal (two-scopes services): adds "/i" to the hash string. */
  readonly scopeInternal?: boolean;
}

/** Cilium's BackendInfo.setHashString(): the bytes that are hashed and sorted. Must never change. */
export function maglevHashString(b: MaglevBackend): string {
  const addr = b.address.includes(':') ? `[${b.address}]` : b.address;
  return `[${addr}:${b.port}/${b.protocol}${b.scopeInternal ? '/i' : ''},State:active]`;
}

/** Offset and skip of one backend name (getOffsetAndSkip). */
export function maglevOffsetSkip(name: string, m: number, seedMurmur: number): [number, number] {
  const [h1, h2] = murmur3x64128(new TextEncoder().encode(name), seedMurmur);
  const M = BigInt(m);
  return [Number(h1 % M), Number(h2 % (M - 1n)) + 1];
}

/** Sentinel of an unfilled slot (Cilium's 0xffff_ffff). Never present in a finished table. */
export const MAGLEV_EMPTY = 0xffff_ffff;

/**
 * The lookup table: Uint32Array(M) of backend ids (Cilium's GetLookupTable). Empty backends -> empty table.
 * Throws MaglevConfigError on duplicate hash strings (Cilium keys backends by address, so they cannot repeat).
 */
export function maglevTable(backends: readonly MaglevBackend[], config: MaglevConfig = maglevConfig()): Uint32Array {
  return maglevTableByName(
    backends.map((b) => ({ name: maglevHashString(b), id: b.id, weight: b.weight ?? MAGLEV_DEFAULT_WEIGHT })),
    config,
  );
}

/** A backend as the table fill sees it: its hash string, id and weight. */
export interface MaglevNamedBackend {
  readonly name: string;
  readonly id: number;
  readonly weight: number;
}

/**
 * The fill itself over already-named backends (Cilium's computeLookupTable after sorting by name).
 * Exposed so tests can replay Cilium's own test cases, which name backends "one", "two", ...
 */
export function maglevTableByName(backends: readonly MaglevNamedBackend[], config: MaglevConfig = maglevConfig()): Uint32Array {
  const m = config.tableSize;
  const list = backends.filter((b) => b.weight > 0).slice()
    .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  for (let i = 1; i < list.length; i++) {
    if (list[i].name === list[i - 1].name) {
      throw new MaglevConfigError('MAGLEV_DUPLICATE_BACKEND', `backend ${list[i].name} is listed twice; each address:port/proto once`);
    }
  }
  const l = list.length;
  if (l === 0) return new Uint32Array(0);
  const entry = new Uint32Array(m).fill(MAGLEV_EMPTY);
  const pos = new Float64Array(l);
  const skip = new Float64Array(l);
  for (let i = 0; i < l; i++) [pos[i], skip[i]] = maglevOffsetSkip(list[i].name, m, config.seedMurmur);
  let weightSum = 0;
  const weightCntr = new Float64Array(l);
  for (let i = 0; i < l; i++) {
    weightSum += list[i].weight;
    weightCntr[i] = list[i].weight / l;
  }
  const weightsUsed = Math.floor(weightSum / l) > 1;
  for (let n = 0; n < m; n++) {
    let i = n % l;
    if (weightsUsed) {
      while ((n + 1) * list[i].weight < Math.floor(weightCntr[i])) i = (i + 1) % l;
      weightCntr[i] += weightSum;
    }
    // pos[i] is permutation[next[i]]; slots already taken are skipped along the permutation.
    let c = pos[i];
    while (entry[c] !== MAGLEV_EMPTY) c = (c + skip[i]) % m;
    entry[c] = list[i].id;
    pos[i] = (c + skip[i]) % m;
  }
  return entry;
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

/**
 * hash_from_tuple_v4 for host-order (numeric) address and ports: the BPF program loads the __be32/__be16
 * fields as little-endian integers, so they are byte-swapped here before jhash_3words.
 */
export function maglevFlowHash4(saddr: number, sport: number, dport: number, nexthdr: number, seedJhash0: number): number {
  return jhash3words(bswap32(saddr), ((bswap16(dport) << 16) | bswap16(sport)) >>> 0, nexthdr & 0xff, seedJhash0);
}

/** table[hash % M]; MAGLEV_EMPTY when the table is empty. */
export function maglevLookup(table: Uint32Array, hash: number): number {
  return table.length === 0 ? MAGLEV_EMPTY : table[(hash >>> 0) % table.length];
}
