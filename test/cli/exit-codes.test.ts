/** Exit codes and option errors of every command (docs/cli.md: 0 ok, 1 runtime failure, 2 bad usage or input). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';

const WALK = join(import.meta.dirname, '..', '..', 'pcaps', 'default', 'pod-a.pcap');

describe('bad option values exit 2 with the value as given', () => {
  it.each([
    [['inspect', WALK, '--count', 'abc'], /--count must be a non-negative integer, got abc/],
    [['inspect', WALK, '--count', '-1'], /--count must be a non-negative integer, got -1/],
    [['inspect', WALK, '--count', '1.5'], /--count must be a non-negative integer, got 1\.5/],
    [['replay', '--engine', 'bogus'], /--engine is "bogus": use native or ts/],
    [['replay', '--dump', 'routes'], /--dump takes ct, got routes/],
    [['rules', '--mode', 'ebpf'], /--mode must be iptables or ipvs/],
    [['rules', '--scenario', join(import.meta.dirname, '..', '..', 'pcaps', 'scenarios', 'ebpf.yaml')], /kubeProxy\.mode is ebpf: no kube-proxy rules, Cilium's maps instead \(dpemu maps\)/],
    [['rules', '--table', 'raw'], /--table must be filter or nat, got raw/],
    [['rules', '--mode', 'ipvs', '--table', 'raw'], /--table must be filter or nat, got raw/],
    [['bench', '--threshold', '0.5'], /--threshold applies to --compare/],
    [['ct', '-o', 'json'], /-o takes extended, got json/],
    [['replay', '--trace=yes'], /--trace takes no value, got "yes"; write --trace alone/],
    [['inspect', tmpdir()], /: is a directory \[READ_FAILED\]; name a pcap or pcapng file/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--save', tmpdir()], /cannot open for writing: EISDIR.*\[WRITE_FAILED\]/],
    [['walk', '--from', 'pod-a', '--to', 'backend', '--brief=1'], /--brief takes no value, got "1"/],
    [['bench', '--threshold', 'abc'], /--threshold takes a fraction >= 0/],
    [['bench', '--threshold', '-1'], /--threshold takes a fraction >= 0/],
  ])('%j', async (args, message) => {
    const r = await run(args);
    expect(r.err).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('a benchmark baseline that is missing or not a run: exit 2 before any benchmark runs', async () => {
    const missing = await run(['bench', '--quick', '--no-kernel', '--compare', '/nonexistent/base.json']);
    expect(missing.code).toBe(2);
    expect(missing.out).toBe('');
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-exit-'));
    writeFileSync(join(dir, 'base.json'), '{"not": "a run"}');
    const wrong = await run(['bench', '--quick', '--no-kernel', '--compare', join(dir, 'base.json')]);
    expect(wrong.code).toBe(2);
    expect(wrong.out).toBe('');
  });
});

describe('--batch', () => {
  it('runs frames in vectors of several (fewer frame-input calls than packets); without it, one frame per call', async () => {
    const one = await run(['replay', '--stats']);
    const batched = await run(['replay', '--stats', '--batch']);
    expect(one.code).toBe(0);
    expect(batched.code).toBe(0);
    const callsPackets = (t: string) => [...t.matchAll(/^frame-input\s+\S+\s+(\d+)\s+(\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    const sum = (rows: ReadonlyArray<readonly [number, number]>) => rows.reduce((a, [c, p]) => [a[0] + c, a[1] + p], [0, 0]);
    const [c1, p1] = sum(callsPackets(one.out));
    const [cb, pb] = sum(callsPackets(batched.out));
    expect(p1).toBeGreaterThan(15);
    expect(c1).toBe(p1);
    expect(pb).toBe(p1);
    expect(cb).toBeLessThan(pb);
  });
});

describe('help text', () => {
  it('dpemu bench --help lists --docs, the threshold default the code uses, and no "default: true" on --no-kernel', async () => {
    const lines: string[] = [];
    // cac prints help with console.info.
    const info = console.info;
    console.info = (...a: unknown[]) => { lines.push(a.join(' ')); };
    try {
      expect((await run(['bench', '--help'])).code).toBe(0);
    } finally {
      console.info = info;
    }
    const text = lines.join('\n');
    expect(text).toMatch(/--docs/);
    expect(text).toMatch(/default 1\.0/);
    expect(text).toMatch(/--no-kernel .*runs by default/);
    expect(text).not.toMatch(/--no-kernel.*default: true/);
  });
});

describe('bin/dpemu.js', () => {
  it('leaves quietly (exit 0, no stack trace) when the reader closes the pipe early', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'dpemu.js');
    // `dpemu replay --trace | head -1`: the shell's pipeline, head closing after one line.
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `node ${JSON.stringify(bin)} replay --trace --engine ts | head -1`], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.stdout.split('\n').filter((l) => l.length > 0)).toHaveLength(1);
    expect(r.status).toBe(0);
  });

  it('a failed write (stdout on a full disk) is one line and exit 1, not a stack trace', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'dpemu.js');
    const r = spawnSync('bash', ['-c', `node ${JSON.stringify(bin)} replay --engine ts > /dev/full`], { encoding: 'utf8' });
    expect(r.stderr).toBe('dpemu: cannot write the output (stdout): ENOSPC; check the disk or the file it goes to\n');
    expect(r.status).toBe(1);
  });
});
