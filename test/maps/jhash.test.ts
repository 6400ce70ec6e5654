import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jhash, jhash1word, jhash2, jhash2words, jhash3words, htabHash } from '../../src/maps/jhash.js';

// Expected values were printed by fixtures/jhash_vectors.c (the kernel's jhash.h algorithm compiled with gcc).
const lines = readFileSync(new URL('./fixtures/jhash_vectors.txt', import.meta.url), 'utf8').trim().split('\n');
const buf = new Uint8Array(64);
for (let i = 0; i < 64; i++) buf[i] = (i * 7 + 1) & 0xff;

describe('jhash matches include/linux/jhash.h (gcc-built reference)', () => {
  it('has the vectors', () => expect(lines.length).toBe(36 + 24 + 3));
  for (const line of lines) {
    it(line, () => {
      const want = Number(line.split('-> ')[1]);
      let m: RegExpMatchArray | null;
      if ((m = line.match(/^jhash len=(\d+) seed=(0x[0-9a-f]+)/))) {
        expect(jhash(buf, 0, Number(m[1]), Number(m[2]))).toBe(want);
      } else if ((m = line.match(/^jhash2 words=(\d+) seed=(0x[0-9a-f]+)/))) {
        expect(jhash2(buf, 0, Number(m[1]), Number(m[2]))).toBe(want);
      } else if (line.startsWith('jhash_3words')) {
        expect(jhash3words(1, 2, 3, 0)).toBe(want);
      } else if (line.startsWith('jhash_2words')) {
        expect(jhash2words(1, 2, 7)).toBe(want);
      } else {
        expect(jhash1word(0xc0a80001, 0)).toBe(want);
      }
    });
  }
  it('reads from an offset', () => {
    const shifted = new Uint8Array(70);
    shifted.set(buf, 3);
    expect(jhash(shifted, 3, 14, 1)).toBe(jhash(buf, 0, 14, 1));
    expect(jhash2(shifted, 3, 5, 1)).toBe(jhash2(buf, 0, 5, 1));
  });
  it('htab_map_hash picks jhash2 for 4-byte multiples and jhash otherwise', () => {
    expect(htabHash(buf, 0, 12, 9)).toBe(jhash2(buf, 0, 3, 9));
    expect(htabHash(buf, 0, 14, 9)).toBe(jhash(buf, 0, 14, 9));
  });
});
