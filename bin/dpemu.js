#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('dpemu: dist/ is missing; run `npm install` (or `npm run build`) in the dpemu checkout first\n');
  process.exit(2);
}
// A reader that closes the pipe early (`dpemu replay | head`) ends the output, as for any Unix filter:
// leave quietly instead of dying on an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
