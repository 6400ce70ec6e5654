#!/usr/bin/env node
// Builds the native addon with node-gyp (run by the package's `install` script, and by
// `npm run build:native` / `npm run build:asan`). A failed build never fails the install: it prints
// one warning line and exits 0, and dpemu runs the TypeScript engine (`--engine native` then says
// why it is unavailable). With --asan the AddressSanitizer/UBSan variant goes to native/build-asan/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const asan = process.argv.includes('--asan');
const strict = process.argv.includes('--strict') || asan;

function nodeGyp() {
  // npm exports the node-gyp it bundles to lifecycle scripts; outside npm, find npm's copy.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not installed locally */ }
  return candidates.find((c) => existsSync(c)) ?? null;
}

function warn(why) {
  const msg = `dpemu: native addon NOT built (${why}); the TypeScript engine will run. Retry with: npm run build:native`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(`\nWARNING ${msg}\n`);
  process.exit(0);
}

if (process.env.DPEMU_SKIP_NATIVE_BUILD === '1') warn('DPEMU_SKIP_NATIVE_BUILD=1');
const gyp = nodeGyp();
if (!gyp) warn('node-gyp not found (it comes with npm)');

let cwd = here;
const args = ['rebuild', '--release'];
// Use local headers when the machine has them (npm's nodedir, or a distro's /usr/include/node), so no download is needed.
const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (asan) {
  // node-gyp always builds into <cwd>/build: the ASan variant gets its own directory and gyp file.
  cwd = join(here, 'build-asan');
  mkdirSync(cwd, { recursive: true });
  // binding.gyp is plain JSON: the same target with sanitizer flags instead of -O3, sources one level up.
  const gyp = JSON.parse(readFileSync(join(here, 'binding.gyp'), 'utf8'));
  const t = gyp.targets[0];
  t.sources = t.sources.map((s) => `../${s}`);
  const san = ['-g', '-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=undefined'];
  for (const k of ['cflags', 'cflags_cc']) t[k] = [...t[k].filter((f) => !/^-O/.test(f)), ...san];
  t['cflags!'] = [...t['cflags!'], '-O3'];
  t['cflags_cc!'] = [...t['cflags_cc!'], '-O3'];
  t.ldflags = ['-fsanitize=address,undefined'];
  writeFileSync(join(cwd, 'binding.gyp'), JSON.stringify(gyp, null, 2));
}
const r = spawnSync(process.execPath, [gyp, ...args], { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
if (r.status !== 0) warn(`node-gyp rebuild exited with ${r.status ?? r.signal}`);
console.log(`dpemu: native addon built: ${join(cwd, 'build', 'Release', 'dpemu_native.node')}`);
