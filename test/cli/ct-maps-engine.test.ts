/**
 * `dpemu ct` and `dpemu maps` take --engine (and DPEMU_ENGINE) as replay does: the tables must not depend on
 * which engine replayed (the parity suites compare the memory; here the printed tables, end to end).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/scenario/index.js';
import { runCli } from '../helpers/cli.js';

const EBPF = join(packageRoot(), 'pcaps', 'scenarios', 'service-ebpf.yaml');

describe('ct and maps with either engine', () => {
  it.each([
    ['ct', ['ct']],
    ['ct -o extended', ['ct', '-o', 'extended']],
    ['maps (eBPF scenario)', ['maps', '--scenario', EBPF]],
  ])('%s prints the same tables with --engine native and --engine ts', async (_name, args) => {
    const ts = await runCli([...args, '--engine', 'ts']);
    const native = await runCli([...args, '--engine', 'native']);
    expect(ts.code, ts.err).toBe(0);
    expect(native.code, native.err).toBe(0);
    expect(ts.out.length).toBeGreaterThan(200);
    expect(native.out).toBe(ts.out);
  });

  it('a bad --engine is exit 2, as for replay', async () => {
    for (const cmd of ['ct', 'maps']) {
      const r = await runCli([cmd, '--engine', 'bogus']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--engine is "bogus": use native or ts/);
    }
  });
});
