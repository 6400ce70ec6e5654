/** Where the bundled default scenario lives, found the same way from src/ (vitest) and dist/ (compiled). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest ancestor of this module holding package.json: the package root in a checkout and when installed. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`dpemu: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function defaultScenarioPath(): string {
  return join(packageRoot(), 'pcaps', 'default', 'scenario.yaml');
}
