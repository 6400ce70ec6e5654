import { describe, expect, it } from 'vitest';
import { EngineChoiceError, NativeEngineUnavailable, selectEngine, type NativeLoad } from '../../src/native/loader.js';
import { assertNativeBuilt } from './parity-helpers.js';

const missing = (): NativeLoad => ({ ok: false, reason: 'x.node does not exist (the addon was not built)', path: 'x.node' });
const present = (): NativeLoad => ({ ok: true, addon: {} as never, path: 'x.node' });

describe('selectEngine', () => {
  it('defaults to native when the addon loads, silently', () => {
    const notes: string[] = [];
    expect(selectEngine(undefined, {}, { load: present, notice: (l) => notes.push(l) })).toBe('native');
    expect(notes).toEqual([]);
  });
  it('defaults to ts with one notice line when the addon is missing', () => {
    const notes: string[] = [];
    expect(selectEngine(undefined, {}, { load: missing, notice: (l) => notes.push(l) })).toBe('ts');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/TypeScript engine/);
    expect(notes[0]).toMatch(/npm run build:native/);
  });
  it('--engine native without the addon is a typed error with the build command', () => {
    expect(() => selectEngine('native', {}, { load: missing })).toThrow(NativeEngineUnavailable);
    try {
      selectEngine('native', {}, { load: missing });
    } catch (e) {
      expect((e as NativeEngineUnavailable).code).toBe('NATIVE_ENGINE_UNAVAILABLE');
      expect((e as Error).message).toMatch(/npm run build:native/);
    }
  });
  it('DPEMU_ENGINE=native without the addon is the same error; DPEMU_ENGINE=ts never loads it', () => {
    expect(() => selectEngine(undefined, { DPEMU_ENGINE: 'native' }, { load: missing })).toThrow(NativeEngineUnavailable);
    let loaded = false;
    expect(selectEngine(undefined, { DPEMU_ENGINE: 'ts' }, { load: () => { loaded = true; return present(); } })).toBe('ts');
    expect(loaded).toBe(false);
  });
  it('the flag wins over the environment', () => {
    expect(selectEngine('ts', { DPEMU_ENGINE: 'native' }, { load: present })).toBe('ts');
    expect(selectEngine('native', { DPEMU_ENGINE: 'ts' }, { load: present })).toBe('native');
  });
  it('an unknown engine name is an error', () => {
    expect(() => selectEngine('fast', {}, { load: present })).toThrow(EngineChoiceError);
    expect(() => selectEngine(undefined, { DPEMU_ENGINE: 'c++' }, { load: present })).toThrow(EngineChoiceError);
  });
});

describe('the addon of this checkout', () => {
  it('is built and loads (CI fails here when the install-time build failed)', () => {
    assertNativeBuilt();
    expect(selectEngine(undefined, {}, { notice: () => undefined })).toBe('native');
  });
});
