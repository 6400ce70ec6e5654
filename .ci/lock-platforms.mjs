// The registry this project installs from serves only linux-x64 builds of packages that ship one
// package per platform (rollup's @rollup/rollup-<os>-<cpu>), so `npm install` cannot record the
// other platforms' entries and `npm ci` then rejects the lockfile as out of sync. This adds those
// entries with their os/cpu/libc, so `npm ci` knows they are for other platforms and skips them.
// Usage: node .ci/lock-platforms.mjs   (after any change to the lockfile)
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [where, meta] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const m = /^@rollup\/rollup-([a-z0-9]+)-([a-z0-9]+)(?:-([a-z]+))?$/.exec(name);
    if (!m) continue;
    const key = `node_modules/${name}`;
    if (pkgs[key]) continue;
    const [, os, cpu, abi] = m;
    const entry = { version, cpu: [cpu], dev: meta.dev ?? false, license: 'MIT', optional: true, os: [os] };
    if (abi && abi.startsWith('gnu')) entry.libc = ['glibc'];
    if (abi && abi.startsWith('musl')) entry.libc = ['musl'];
    if (!meta.dev) delete entry.dev;
    pkgs[key] = entry;
    added++;
    void where;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: added ${added} platform entries`);
