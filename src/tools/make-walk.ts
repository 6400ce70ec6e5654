// Rebuilds pcaps/default/walk.pcapng from the kernel captures (run after capture-pod-to-pod.sh):
//   npx vite-node src/tools/make-walk.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../scenario/default-path.js';
import { buildWalkCapture } from './walk-capture.js';

const out = join(packageRoot(), 'pcaps/default/walk.pcapng');
writeFileSync(out, buildWalkCapture(join(packageRoot(), 'pcaps/kernel/pod-to-pod')));
console.log(`wrote ${out}`);
