// Rebuilds a kernel scenario's walk capture (the frames the pods sent) from its captures, run after
// capture-pod-to-pod.sh:
//   npx vite-node src/tools/make-walk.ts                        -> pcaps/default/walk.pcapng (pod-to-pod)
//   npx vite-node src/tools/make-walk.ts pcaps/kernel/service   -> pcaps/kernel/service/walk.pcapng
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../scenario/default-path.js';
import { buildWalkCapture } from './walk-capture.js';

const dir = process.argv[2];
const kernelDir = dir ? resolve(dir) : join(packageRoot(), 'pcaps/kernel/pod-to-pod');
const out = dir ? join(kernelDir, 'walk.pcapng') : join(packageRoot(), 'pcaps/default/walk.pcapng');
writeFileSync(out, buildWalkCapture(kernelDir));
console.log(`wrote ${out}`);
