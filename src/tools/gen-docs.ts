// Regenerates the docs that are derived from code tables (`npm run gen`).
import { writeFileSync } from 'node:fs';
import { renderDropReasonsMarkdown } from '../engine/drop-reasons.js';

writeFileSync(new URL('../../docs/drop-reasons.md', import.meta.url), renderDropReasonsMarkdown());
console.log('wrote docs/drop-reasons.md');
