import { ArrayMap } from './array-map.js';
import { HashMap, LruHashMap } from './hash-map.js';
import { LpmTrieMap } from './lpm-trie.js';
import type { BpfMap, MapKind, MapSpec } from './map-common.js';

/** Builds the map of a declaration, e.g. createMap({ ...MAPS_V1.ct4_global_v1, maxEntries: 4096 }). */
export function createMap(decl: MapSpec & { readonly kind: MapKind }): BpfMap {
  switch (decl.kind) {
    case 'array': return new ArrayMap(decl);
    case 'hash': return new HashMap(decl);
    case 'lru_hash': return new LruHashMap(decl);
    case 'lpm_trie': return new LpmTrieMap(decl);
  }
}
