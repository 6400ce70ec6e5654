/**
 * `npm run bench [-- --quick] [-- --json out.json] [-- --compare baseline.json] [-- --docs]`: the default
 * suite (src/bench), progress as plain lines on stderr. The older single-purpose benches stay runnable
 * with vite-node (see bench/README.md).
 */
import { benchMain, parseBenchArgs } from '../src/bench/main.js';
import { DpemuError } from '../src/util/errors.js';

try {
  const o = parseBenchArgs(process.argv.slice(2));
  process.exitCode = await benchMain(o, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, (done, total, label) => {
    process.stderr.write(`[${done}/${total}] ${label}\n`);
  });
} catch (e) {
  if (!(e instanceof DpemuError)) throw e;
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 2;
}
