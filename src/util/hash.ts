/**
 * 32-bit hashing for flow keys (jhash's role in the kernel). Murmur3's finalizer over a few words,
 * seeded: the kernel's seeds are random per boot, dpemu's come from the scenario seed so a replay
 * is repeatable.
 */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hash3(a: number, b: number, c: number, seed: number): number {
  let h = mix32((seed ^ 0x9e3779b9) >>> 0);
  h = mix32((h ^ a) >>> 0);
  h = mix32((Math.imul(h, 31) ^ b) >>> 0);
  h = mix32((Math.imul(h, 31) ^ c) >>> 0);
  return h;
}
