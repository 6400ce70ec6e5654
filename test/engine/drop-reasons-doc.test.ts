import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDropReasonsMarkdown } from '../../src/engine/drop-reasons.js';

describe('docs/drop-reasons.md', () => {
  it('is the table in src/engine/drop-reasons.ts (run `npm run gen` after changing it)', () => {
    expect(readFileSync(new URL('../../docs/drop-reasons.md', import.meta.url), 'utf8')).toBe(renderDropReasonsMarkdown());
  });
});
