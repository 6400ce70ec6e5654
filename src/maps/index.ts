export * from './errors.js';
export * from './schema.js';
export * from './jhash.js';
export * from './map-common.js';
export { ArrayMap } from './array-map.js';
export { HashMap, LruHashMap } from './hash-map.js';
export { LpmTrieMap } from './lpm-trie.js';
export * from './cilium-layouts.js';
export { createMap } from './create.js';
