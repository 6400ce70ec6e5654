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
// leave quietly instead of dying on an unhandled EPIPE. Any other write failure (a full disk under
// `> flows.json`) is a runtime failure: one line naming it, exit 1, not a stack trace.
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    if (name === 'stdout') process.stderr.write(`dpemu: cannot write the output (stdout): ${e.code ?? e.message}; check the disk or the file it goes to\n`);
    process.exit(1);
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
