import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DROP_REASONS, MAX_DROP_CODE } from '../../src/engine/drop-reasons.js';
import { renderDropReasonsHeader, renderLayoutsHeader } from '../../src/native/gen-headers.js';
import { nativeStructs } from '../../src/native/layouts.js';
import { requireNative } from '../../src/native/loader.js';
import { assertNativeBuilt } from './parity-helpers.js';

/**
 * The C++ headers are generated from the TypeScript tables (`npm run gen`): the committed files
 * must equal a fresh rendering, and the compiled addon must agree with the TypeScript schemas on
 * every struct's size, alignment and field offsets (Cilium's alignchecker) and on the drop table.
 */
const read = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

describe('generated native headers', () => {
  it('native/src/drop_reasons.h is the rendering of src/engine/drop-reasons.ts (run `npm run gen`)', () => {
    expect(read('native/src/drop_reasons.h')).toBe(renderDropReasonsHeader());
  });
  it('native/src/layouts.h is the rendering of the struct schemas (run `npm run gen`)', () => {
    expect(read('native/src/layouts.h')).toBe(renderLayoutsHeader());
  });
});

describe('compiled addon vs TypeScript schemas', () => {
  assertNativeBuilt();
  const native = requireNative().layouts();
  it('exports every struct the schemas define, and nothing else', () => {
    expect(Object.keys(native.structs).sort()).toEqual(nativeStructs().map((s) => s.name).sort());
  });
  for (const s of nativeStructs()) {
    it(`${s.name}: sizeof, alignof and offsetof match`, () => {
      const n = native.structs[s.name];
      expect(n.size).toBe(s.size);
      expect(n.align).toBe(s.align);
      expect(n.offsets).toEqual(Object.fromEntries(s.fields.map((f) => [f.name, f.offset])));
    });
  }
  it('drop reason table: same codes and names, same largest code', () => {
    expect(native.dropReasons).toEqual(Object.fromEntries(DROP_REASONS.map((r) => [String(r.code), r.name])));
    expect(native.maxDropCode).toBe(MAX_DROP_CODE);
  });
});
