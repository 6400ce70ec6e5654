/**
 * C++ headers the addon is compiled with, generated from the TypeScript tables (`npm run gen`):
 * the drop reason table (native/src/drop_reasons.h) and the struct layouts (native/src/layouts.h).
 * test/native/generated.test.ts fails when the committed headers drift from these renderings.
 */
import { DROP_REASONS } from '../engine/drop-reasons.js';
import type { FieldLayout, StructDef } from '../maps/schema.js';
import { nativeStructs } from './layouts.js';

const BANNER = (src: string): string => `// Generated from ${src} by \`npm run gen\`; do not edit by hand.\n`;

export function renderDropReasonsHeader(): string {
  const lines = [
    BANNER('src/engine/drop-reasons.ts'),
    '#pragma once',
    '#include <cstdint>',
    '',
    'namespace dpemu {',
    '',
    'enum DropReason : uint16_t {',
    ...DROP_REASONS.map((r) => `  DROP_${r.name} = ${r.code},  // ${r.text}`),
    '};',
    '',
    `constexpr uint16_t kMaxDropCode = ${Math.max(...DROP_REASONS.map((r) => r.code))};`,
    '',
    '// X(code, name) for every reason, so the addon can export its table for the drift test.',
    '#define DPEMU_DROP_REASONS(X) \\',
    ...DROP_REASONS.map((r, i) => `  X(${r.code}, ${r.name})${i === DROP_REASONS.length - 1 ? '' : ' \\'}`),
    '',
    '}  // namespace dpemu',
    '',
  ];
  return lines.join('\n');
}

function cType(f: FieldLayout): string {
  switch (f.type) {
    case 'u8': return 'uint8_t';
    case 'u16': case 'u16be': return 'uint16_t';
    case 'u32': case 'u32be': return 'uint32_t';
    case 'u64': return 'uint64_t';
    default: return 'uint8_t';
  }
}

function renderStruct(s: StructDef): string {
  const body = s.fields.map((f) => {
    const order = f.byteOrder === 'be' ? '  // network order' : '';
    return f.padding ? `  uint8_t ${f.name}[${f.size}];` : `  ${cType(f)} ${f.name};${order}`;
  });
  return [
    `struct ${s.packed ? '__attribute__((packed)) ' : ''}${s.name} {`,
    ...body,
    '};',
    `static_assert(sizeof(${s.name}) == ${s.size}, "${s.name} size");`,
    ...s.fields.map((f) => `static_assert(offsetof(${s.name}, ${f.name}) == ${f.offset}, "${s.name}.${f.name} offset");`),
  ].join('\n');
}

export function renderLayoutsHeader(): string {
  const structs = nativeStructs();
  const fields: string[] = [];
  for (const s of structs) for (const f of s.fields) fields.push(`X(${s.name}, ${f.name})`);
  return [
    BANNER('src/native/layouts.ts and src/maps/cilium-layouts.ts'),
    '#pragma once',
    '#include <cstddef>',
    '#include <cstdint>',
    '',
    'namespace dpemu {',
    '',
    ...structs.map(renderStruct).flatMap((s) => [s, '']),
    '// S(struct) for every struct and X(struct, field) for every field: the addon exports',
    '// sizeof/offsetof from these, so the test compares what the compiler laid out.',
    '#define DPEMU_STRUCTS(S) \\',
    ...structs.map((s, i) => `  S(${s.name})${i === structs.length - 1 ? '' : ' \\'}`),
    '',
    '#define DPEMU_FIELDS(X) \\',
    ...fields.map((f, i) => `  ${f}${i === fields.length - 1 ? '' : ' \\'}`),
    '',
    '}  // namespace dpemu',
    '',
  ].join('\n');
}
