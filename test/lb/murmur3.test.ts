import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { murmur3x64128 } from '../../src/lb/murmur3.js';

const enc = new TextEncoder();
// Printed by fixtures/murmur3_vectors.c (smhasher's MurmurHash3_x64_128 compiled with gcc).
const rows = readFileSync(new URL('./fixtures/murmur3_vectors.txt', import.meta.url), 'utf8').split('\n').filter((l) => l.length > 0);

describe('MurmurHash3_x64_128', () => {
  it('published vectors: "" seed 0 is zero, "hello" seed 0 (as Python mmh3.hash64)', () => {
    expect(murmur3x64128(new Uint8Array(0), 0)).toEqual([0n, 0n]);
    expect(murmur3x64128(enc.encode('hello'), 0)).toEqual([0xcbd8a7b341bd9b02n, 0x5b1e906a48ae1d19n]);
  });

  it("smhasher's VerificationTest value 0x6384BA69", () => {
    const hashes = new Uint8Array(256 * 16);
    const key = new Uint8Array(256);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      const [h1, h2] = murmur3x64128(key.subarray(0, i), 256 - i);
      for (let b = 0; b < 8; b++) {
        hashes[i * 16 + b] = Number((h1 >> BigInt(8 * b)) & 0xffn);
        hashes[i * 16 + 8 + b] = Number((h2 >> BigInt(8 * b)) & 0xffn);
      }
    }
    const [h1] = murmur3x64128(hashes, 0);
    expect(Number(h1 & 0xffffffffn)).toBe(0x6384ba69);
  });

  it('has the gcc vectors', () => expect(rows.length).toBe(15));
  for (const row of rows) {
    const [text, seed, h1, h2] = row.split('\t');
    it(`"${text}" seed ${seed}`, () => {
      expect(murmur3x64128(enc.encode(text), Number(seed))).toEqual([BigInt(`0x${h1}`), BigInt(`0x${h2}`)]);
    });
  }
});
