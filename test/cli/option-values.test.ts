/**
 * Option values are read as typed: cac turns `2024` into a number and a repeated option into a list, which the
 * commands used to ignore silently (`--write-pcaps 2024` wrote nothing, `--at a --at b` attached by sender).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';
import { rawOptionValues } from '../../src/cli/options.js';

const POD_A = join(import.meta.dirname, '..', '..', 'pcaps', 'default', 'pod-a.pcap');

describe('value options that look like numbers keep their text', () => {
  it('--write-pcaps 2024 writes into ./2024 (was: no files, exit 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-opt-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await run(['replay', '--engine', 'ts', '--write-pcaps', '2024']);
      expect(r.code).toBe(0);
      expect(existsSync(join(dir, '2024', 'node-1.pcapng'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('--sport 0x50 is not port 80', async () => {
    const r = await run(['walk', '--from', 'pod-a', '--to', 'backend', '--sport', '0x50']);
    expect(r.err).toMatch(/--sport must be a port 1-65535, got 0x50/);
    expect(r.code).toBe(2);
  });
});

describe('a value option given twice or empty is exit 2 naming it', () => {
  it.each([
    [['replay', '--at', 'pod-a', '--at', 'node-2'], /--at was given 2 times \("pod-a", "node-2"\); give it once/],
    [['replay', '--write-pcaps', 'a', '--write-pcaps', 'b'], /--write-pcaps was given 2 times/],
    [['rules', '--node', 'node-2', '--node', 'node-3'], /--node was given 2 times/],
    [['walk', '--from', 'pod-a', '--from', 'backend-a', '--to', 'backend'], /--from was given 2 times/],
    [['ct', '-o', 'extended', '-o', 'extended'], /--output was given 2 times/],
    [['inspect', POD_A, '--count', ''], /--count needs a value, got an empty string/],
    [['rules', '--node', ''], /--node needs a value, got an empty string/],
    [['replay', '--at', ''], /--at needs a value, got an empty string/],
    [['maps', '--scenario', join(import.meta.dirname, '..', '..', 'pcaps', 'scenarios', 'ebpf.yaml'), '--node', ''], /--node needs a value/],
  ])('%j', async (args, message) => {
    const r = await run(args);
    expect(r.err).toMatch(message);
    expect(r.err.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.out).toBe('');
    expect(r.code).toBe(2);
  });

  it('--scenario may be repeated (its files are merged)', async () => {
    const dflt = join(import.meta.dirname, '..', '..', 'pcaps', 'default', 'scenario.yaml');
    const r = await run(['rules', '--scenario', dflt, '--scenario', '/nonexistent/other.yaml']);
    expect(r.err).toMatch(/\/nonexistent\/other\.yaml: expected a readable scenario file/);
    expect(r.code).toBe(2);
  });
});

describe('rawOptionValues reads argv as mri does', () => {
  it('--x=V, --x V, a value starting with - is none, nothing after --', () => {
    expect(rawOptionValues(['--at=a', '--at', 'b', '--at', '--trace', '--', '--at', 'c'], ['--at'])).toEqual(['a', 'b']);
    expect(rawOptionValues(['-o', 'extended'], ['-o', '--output'])).toEqual(['extended']);
    expect(rawOptionValues(['--at', ''], ['--at'])).toEqual(['']);
  });
});
