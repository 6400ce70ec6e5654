import { describe, expect, it } from 'vitest';
import { StructLayoutError } from '../../src/maps/errors.js';
import { defineStruct } from '../../src/maps/schema.js';

describe('defineStruct', () => {
  it('computes offsets with natural alignment and explicit padding', () => {
    const s = defineStruct('lb4_key_v1', [['address', 'u32be'], ['dport', 'u16be'], ['backend_slot', 'u16'], ['proto', 'u8'], ['scope', 'u8'], ['pad', 'pad2']]);
    expect(s.size).toBe(12);
    expect(s.align).toBe(4);
    expect(s.offsets).toEqual({ address: 0, dport: 4, backend_slot: 6, proto: 8, scope: 9 });
  });

  it('rejects implicit padding before a field', () => {
    expect(() => defineStruct('bad_v1', [['a', 'u8'], ['b', 'u32']])).toThrowError(StructLayoutError);
    try {
      defineStruct('bad_v1', [['a', 'u8'], ['b', 'u32']]);
    } catch (e) {
      expect((e as StructLayoutError).code).toBe('STRUCT_IMPLICIT_PADDING');
      expect((e as Error).message).toContain('pad3');
    }
  });

  it('rejects implicit trailing padding', () => {
    expect(() => defineStruct('bad_v1', [['a', 'u32'], ['b', 'u16']])).toThrowError(/trailing 'pad2'/);
    expect(() => defineStruct('bad_v1', [['a', 'u64'], ['b', 'u32']])).toThrowError(/trailing 'pad4'/);
  });

  it('accepts the same fields when packed', () => {
    const s = defineStruct('p_v1', [['address', 'u32be'], ['port', 'u16be']], { packed: true });
    expect(s.size).toBe(6);
    expect(s.align).toBe(1);
  });

  it('requires a version suffix and unique names', () => {
    expect(() => defineStruct('lb4_key', [['a', 'u32']])).toThrowError(/_v1/);
    expect(() => defineStruct('x_v1', [['a', 'u32'], ['a', 'u32']])).toThrowError(StructLayoutError);
  });

  it('encodes with explicit byte order and decodes back', () => {
    const s = defineStruct('t_v1', [['be', 'u32be'], ['le', 'u32'], ['p', 'u16be'], ['h', 'u16'], ['x', 'pad4'], ['big', 'u64']]);
    const bytes = s.encode({ be: 0x0a000001, le: 0x0a000001, p: 80, h: 80, big: 2 ** 40 + 5 });
    expect([...bytes.subarray(0, 12)]).toEqual([10, 0, 0, 1, 1, 0, 0, 10, 0, 80, 80, 0]);
    expect([...bytes.subarray(12, 16)]).toEqual([0, 0, 0, 0]);
    expect(s.decode(bytes)).toEqual({ be: 0x0a000001, le: 0x0a000001, p: 80, h: 80, big: 2 ** 40 + 5 });
  });

  it('fast accessors read and write at a base offset without touching neighbours', () => {
    const s = defineStruct('t_v1', [['a', 'u32be'], ['b', 'u16'], ['c', 'u8'], ['d', 'u8']]);
    const mem = new Uint8Array(32).fill(0xee);
    s.set.a(mem, 8, 0xc0a80001);
    s.set.b(mem, 8, 0x1234);
    s.set.c(mem, 8, 7);
    expect(s.get.a(mem, 8)).toBe(0xc0a80001);
    expect(s.get.b(mem, 8)).toBe(0x1234);
    expect(s.get.c(mem, 8)).toBe(7);
    expect(s.get.d(mem, 8)).toBe(0xee);
    expect(mem[7]).toBe(0xee);
    expect(mem[16]).toBe(0xee);
  });

  it('formats addresses as dotted quads', () => {
    const s = defineStruct('t_v1', [['address', 'u32be'], ['port', 'u16be'], ['pad', 'pad2']]);
    expect(s.format(s.encode({ address: 0x0a600001, port: 443 }))).toBe('address=10.96.0.1 port=443');
  });
});
