import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireNative } from '../../src/native/loader.js';
import { assertNativeBuilt } from './parity-helpers.js';

/**
 * The deferring walk's entry set (native/src/pool.h DeferredEntries): the conntrack and policy hooks
 * defer every later packet of an entry a deferred packet belongs to, so the set must answer yes for
 * every entry added and no for the rest, and once more entries were added than it holds (256), yes
 * to everything (deferring more than needed stays exact; forgetting one would not).
 */
assertNativeBuilt();
const addon = requireNative();
const CAP = 256;

function model(adds: readonly number[], q: number): boolean {
  const set = new Set(adds.filter((e) => e >= 0));
  return set.size > CAP || set.has(q);
}

function probe(adds: readonly number[], queries: readonly number[]): boolean[] {
  const out = new Uint8Array(queries.length);
  addon.deferredEntriesProbe(Int32Array.from(adds), Int32Array.from(queries), out);
  return [...out].map((b) => b === 1);
}

describe('native DeferredEntries (the deferring walk\'s entry set)', () => {
  it('agrees with a Set on random adds and queries, below and past its capacity', () => {
    const entry = fc.oneof(fc.integer({ min: -1, max: 600 }), fc.integer({ min: 0, max: 0x3fffffff }));
    // size 'max': fast-check's default size keeps arrays to about a dozen elements whatever maxLength says,
    // and the capacity (256 distinct entries) would never be reached.
    let past = 0;
    fc.assert(fc.property(fc.array(entry, { maxLength: 400, size: 'max' }), fc.array(entry, { maxLength: 100, size: 'max' }), (adds, queries) => {
      const qs = [...queries, ...adds.slice(0, 50)];
      if (new Set(adds.filter((e) => e >= 0)).size > CAP) past++;
      expect(probe(adds, qs)).toEqual(qs.map((q) => model(adds, q)));
    }), { numRuns: 300, endOnFailure: true }); // shrinking 400-entry arrays through this property takes minutes
    expect(past).toBeGreaterThan(30);
  });
  it('holds exactly 256 distinct entries, duplicates counted once; the 257th makes it answer yes to all', () => {
    const adds = Array.from({ length: CAP }, (_, i) => i * 512);
    expect(probe([...adds, ...adds], [...adds, 1, -1])).toEqual([...adds.map(() => true), false, false]);
    expect(probe([...adds, 7], [1, -1, 7])).toEqual([true, true, true]);
    expect(probe([], [0, -1])).toEqual([false, false]);
  });
});
