/**
 * Struct schemas: the byte layout of a map key or value, written as data so TypeScript, docs and the
 * native addon share one definition (Cilium: "maps are the contract").
 *
 * Layout rules (docs/maps.md):
 *  - Field types: u8, u16, u32, u64 (host order = little-endian, as on x86_64/arm64 where the addon runs),
 *    u16be, u32be (network order, for addresses and ports, Cilium's __be16/__be32), and padN (N bytes, zero).
 *  - C natural alignment: a field of width w sits at an offset that is a multiple of w; the struct's
 *    alignment is its widest field; its size is a multiple of that alignment.
 *  - No implicit padding: if natural alignment would insert bytes before a field or at the end, the
 *    definition is rejected (StructLayoutError STRUCT_IMPLICIT_PADDING). Write a `padN` field instead,
 *    so the C struct, the Go struct and this one cannot disagree about hidden bytes.
 *  - `packed: true` mirrors a C `__packed` struct (alignment 1, no padding at all), e.g. Cilium's
 *    ipv4_ct_tuple (14 bytes) and lb4_reverse_nat (6 bytes).
 *  - No bitfields: Cilium's bitfields become a u8/u16 `flags` field with named bits.
 *  - A struct name ends in `_v<N>`; a layout change is a new name, never an edit.
 *
 * Fast accessors (`s.get.<field>(bytes, base)` / `s.set.<field>(bytes, base, v)`) index a Uint8Array at
 * fixed offsets with shifts: no DataView, no allocation. u64 fields read as a JS number, exact below 2^53.
 * encode/decode build objects and are for control-plane paths and dumps.
 */
import { StructLayoutError } from './errors.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'u16be' | 'u32be' | `pad${number}`;

export interface FieldLayout {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  /** 'le' host order, 'be' network order, 'none' for u8 and padding. */
  readonly byteOrder: 'le' | 'be' | 'none';
  readonly padding: boolean;
}

export type FieldDef = readonly [name: string, type: FieldType];

type ValueFieldNames<F extends readonly FieldDef[]> = {
  [K in keyof F]: F[K] extends readonly [infer N, infer T] ? (T extends `pad${number}` ? never : N) : never;
}[number] & string;

export type StructValue<F extends readonly FieldDef[]> = { [K in ValueFieldNames<F>]: number };
export type Getter = (bytes: Uint8Array, base: number) => number;
export type Setter = (bytes: Uint8Array, base: number, v: number) => void;

export interface StructDef<F extends readonly FieldDef[] = readonly FieldDef[]> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly packed: boolean;
  readonly fields: readonly FieldLayout[];
  readonly offsets: { readonly [K in ValueFieldNames<F>]: number };
  readonly get: { readonly [K in ValueFieldNames<F>]: Getter };
  readonly set: { readonly [K in ValueFieldNames<F>]: Setter };
  /** Writes every non-pad field (missing ones as 0) and zeroes padding. */
  encode(value: Partial<StructValue<F>>, out?: Uint8Array, base?: number): Uint8Array;
  decode(bytes: Uint8Array, base?: number): StructValue<F>;
  /** `name=value` pairs for dumps; addresses (u32be named *addr*, address, tunnel_endpoint) as dotted quads. */
  format(bytes: Uint8Array, base?: number): string;
}

const VERSIONED = /_v[0-9]+$/;

function widthOf(type: FieldType): number {
  switch (type) {
    case 'u8': return 1;
    case 'u16': case 'u16be': return 2;
    case 'u32': case 'u32be': return 4;
    case 'u64': return 8;
    default: {
      const n = Number(type.slice(3));
      if (!Number.isInteger(n) || n <= 0 || n > 64) {
        throw new StructLayoutError('STRUCT_BAD_TYPE', `padding type '${type}' must be pad1..pad64`);
      }
      return n;
    }
  }
}

export function readU16le(b: Uint8Array, p: number): number { return b[p] | (b[p + 1] << 8); }
export function readU16be(b: Uint8Array, p: number): number { return (b[p] << 8) | b[p + 1]; }
export function readU32le(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}
export function readU32be(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}
export function writeU16le(b: Uint8Array, p: number, v: number): void { b[p] = v; b[p + 1] = v >>> 8; }
export function writeU16be(b: Uint8Array, p: number, v: number): void { b[p] = v >>> 8; b[p + 1] = v; }
export function writeU32le(b: Uint8Array, p: number, v: number): void {
  b[p] = v; b[p + 1] = v >>> 8; b[p + 2] = v >>> 16; b[p + 3] = v >>> 24;
}
export function writeU32be(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24; b[p + 1] = v >>> 16; b[p + 2] = v >>> 8; b[p + 3] = v;
}

function accessors(type: FieldType, off: number): [Getter, Setter] {
  switch (type) {
    case 'u8': return [(b, p) => b[p + off], (b, p, v) => { b[p + off] = v; }];
    case 'u16': return [(b, p) => readU16le(b, p + off), (b, p, v) => writeU16le(b, p + off, v)];
    case 'u16be': return [(b, p) => readU16be(b, p + off), (b, p, v) => writeU16be(b, p + off, v)];
    case 'u32': return [(b, p) => readU32le(b, p + off), (b, p, v) => writeU32le(b, p + off, v)];
    case 'u32be': return [(b, p) => readU32be(b, p + off), (b, p, v) => writeU32be(b, p + off, v)];
    case 'u64': return [
      (b, p) => readU32le(b, p + off) + readU32le(b, p + off + 4) * 0x1_0000_0000,
      (b, p, v) => {
        writeU32le(b, p + off, v >>> 0);
        writeU32le(b, p + off + 4, Math.floor(v / 0x1_0000_0000) >>> 0);
      },
    ];
    default: return [() => 0, () => undefined];
  }
}

function ipv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * Declares a struct. Throws StructLayoutError when the name has no `_v<N>` suffix, a name repeats,
 * or natural alignment would add padding the field list does not spell out.
 */
export function defineStruct<const F extends readonly FieldDef[]>(
  name: string,
  fieldDefs: F,
  options: { packed?: boolean } = {},
): StructDef<F> {
  if (!VERSIONED.test(name)) {
    throw new StructLayoutError('STRUCT_UNVERSIONED', `struct '${name}' needs a version suffix such as '_v1'`);
  }
  const packed = options.packed === true;
  const seen = new Set<string>();
  const fields: FieldLayout[] = [];
  let cursor = 0;
  let structAlign = 1;
  for (const [fname, type] of fieldDefs) {
    if (seen.has(fname)) throw new StructLayoutError('STRUCT_DUPLICATE_FIELD', `${name}: field '${fname}' repeats`);
    seen.add(fname);
    const size = widthOf(type);
    const padding = type.startsWith('pad');
    const align = packed || padding ? 1 : size;
    if (cursor % align !== 0) {
      const need = align - (cursor % align);
      throw new StructLayoutError('STRUCT_IMPLICIT_PADDING',
        `${name}: field '${fname}' (${type}) would sit at offset ${cursor}, not a multiple of ${align}; ` +
        `add ['pad', 'pad${need}'] before it or reorder fields`);
    }
    structAlign = Math.max(structAlign, align);
    const byteOrder = padding || size === 1 ? 'none' : type.endsWith('be') ? 'be' : 'le';
    fields.push({ name: fname, type, offset: cursor, size, align, byteOrder, padding });
    cursor += size;
  }
  if (cursor % structAlign !== 0) {
    const need = structAlign - (cursor % structAlign);
    throw new StructLayoutError('STRUCT_IMPLICIT_PADDING',
      `${name}: size ${cursor} is not a multiple of its alignment ${structAlign}; add a trailing 'pad${need}' field`);
  }
  const size = cursor;
  const offsets: Record<string, number> = {};
  const get: Record<string, Getter> = {};
  const set: Record<string, Setter> = {};
  const valueFields = fields.filter((f) => !f.padding);
  for (const f of valueFields) {
    offsets[f.name] = f.offset;
    [get[f.name], set[f.name]] = accessors(f.type, f.offset);
  }
  const def: StructDef<F> = {
    name, size, align: structAlign, packed, fields,
    offsets: offsets as StructDef<F>['offsets'],
    get: get as StructDef<F>['get'],
    set: set as StructDef<F>['set'],
    encode(value, out = new Uint8Array(size), base = 0) {
      out.fill(0, base, base + size);
      const v = value as Record<string, number | undefined>;
      for (const f of valueFields) set[f.name](out, base, v[f.name] ?? 0);
      return out;
    },
    decode(bytes, base = 0) {
      const o: Record<string, number> = {};
      for (const f of valueFields) o[f.name] = get[f.name](bytes, base);
      return o as StructValue<F>;
    },
    format(bytes, base = 0) {
      return valueFields.map((f) => {
        const v = get[f.name](bytes, base);
        const isAddr = f.type === 'u32be' && /addr|address|endpoint/.test(f.name);
        return `${f.name}=${isAddr ? ipv4(v) : v}`;
      }).join(' ');
    },
  };
  return def;
}
