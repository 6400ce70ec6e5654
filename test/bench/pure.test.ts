import { describe, expect, it } from 'vitest';
import { BUDGETS, budget, headroom } from '../../src/bench/budgets.js';
import { progressBar } from '../../src/bench/cli.js';
import { parseKernelPeer } from '../../src/bench/kernel.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchArgs } from '../../src/bench/main.js';
import { fmtNs } from '../../src/bench/report.js';
import { quantile, Samples, scalingRatio } from '../../src/bench/stats.js';
import { latencySvg, logDomain, scalingSvg } from '../../src/bench/svg.js';

describe('stats', () => {
  it('nearest-rank quantiles on unsorted samples', () => {
    const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(quantile(v, 0.5)).toBe(5);
    expect(quantile(v, 0.99)).toBe(10);
    expect(quantile(v, 0)).toBe(1);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('Samples grows past its capacity and keeps order', () => {
    const s = new Samples(2);
    for (let i = 0; i < 5; i++) s.push(i);
    expect(Array.from(s.values())).toEqual([0, 1, 2, 3, 4]);
  });

  it('scaling ratio is largest over smallest whatever the order', () => {
    expect(scalingRatio([{ n: 1000, ns: 30 }, { n: 10, ns: 3 }, { n: 100, ns: 9 }])).toEqual({ ratio: 10, nRatio: 100 });
  });
});

describe('budgets', () => {
  it('every budget quotes its source and ids are unique', () => {
    expect(new Set(BUDGETS.map((b) => b.id)).size).toBe(BUDGETS.length);
    for (const b of BUDGETS) expect(b.source.length).toBeGreaterThan(5);
  });

  it('headroom uses the budget\'s own quantile', () => {
    expect(headroom(budget('vxlan')!, 1000, 1e6)).toBe(1000);
    expect(headroom(budget('iptables-10k')!, 1, 5e6)).toBe(10);
    expect(budget('nope')).toBeUndefined();
  });
});

describe('bench options', () => {
  it('parses flags and refuses unknown ones and missing values', () => {
    expect(parseBenchArgs(['--', '--quick', '--json', 'o.json', '--compare', 'base.json', '--threshold', '0.3'])).toMatchObject({ quick: true, json: 'o.json', compare: 'base.json', threshold: 0.3, kernel: true });
    expect(parseBenchArgs(['--no-kernel']).kernel).toBe(false);
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown bench option --fast/);
    expect(() => parseBenchArgs(['--json'])).toThrow(/--json needs a value/);
    expect(() => parseBenchArgs(['--threshold', 'x'])).toThrow(/--threshold takes a fraction/);
  });

  it('refuses, before any measuring, a --json path that cannot be written and a --threshold without --compare', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-bench-opt-'));
    try {
      writeFileSync(join(dir, 'a-file'), 'x');
      expect(() => parseBenchArgs(['--json', join(dir, 'a-file', 'r.json')])).toThrow(/--json .*a-file is not a directory/);
      expect(() => parseBenchArgs(['--json', dir])).toThrow(/is a directory/);
      expect(parseBenchArgs(['--json', join(dir, 'new', 'r.json')]).json).toBe(join(dir, 'new', 'r.json'));
      expect(() => parseBenchArgs(['--threshold', '0.5'])).toThrow(/--threshold applies to --compare/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kernel peer output', () => {
  it('reads RESULT lines only', () => {
    expect(parseKernelPeer('NOTE x\nRESULT a 200000\ngarbage\nRESULT b 0\n')).toEqual([
      { name: 'a', pps: 200000, nsPerPacket: 5000 },
      { name: 'b', pps: 0, nsPerPacket: NaN },
    ]);
  });
});

describe('rendering', () => {
  it('log domain covers whole decades', () => {
    expect(logDomain([15, 2e6])).toEqual([1, 7]);
    expect(logDomain([100])).toEqual([2, 3]);
  });

  it('SVGs are well-formed and escape labels', () => {
    const a = latencySvg([{ label: 'a<b', p50: 100, p99: 1000, budget: 1e6 }], 't');
    expect(a.startsWith('<svg')).toBe(true);
    expect(a).toContain('a&lt;b');
    expect(a).toContain('1 ms');
    expect(scalingSvg([{ label: 'c', points: [{ n: 10, ns: 5 }, { n: 1000, ns: 500 }] }], 't')).toContain('<polyline');
  });

  it('formats ns and a progress bar', () => {
    expect(fmtNs(1.5e6)).toBe('1.50 ms');
    expect(fmtNs(42)).toBe('42.0 ns');
    expect(progressBar(1, 4, 'x', 8)).toBe('[##......]  25% x');
  });
});
