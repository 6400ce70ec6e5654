// Regenerates the docs and native headers that are derived from code tables (`npm run gen`).
import { writeFileSync } from 'node:fs';
import { renderDropReasonsMarkdown } from '../engine/drop-reasons.js';
import { renderDropReasonsHeader, renderLayoutsHeader } from '../native/gen-headers.js';

writeFileSync(new URL('../../docs/drop-reasons.md', import.meta.url), renderDropReasonsMarkdown());
console.log('wrote docs/drop-reasons.md');
writeFileSync(new URL('../../native/src/drop_reasons.h', import.meta.url), renderDropReasonsHeader());
console.log('wrote native/src/drop_reasons.h');
writeFileSync(new URL('../../native/src/layouts.h', import.meta.url), renderLayoutsHeader());
console.log('wrote native/src/layouts.h');
