/**
 * `dpemu replay` on bad input: scenario problems and a missing capture are usage errors (exit 2,
 * nothing replayed); a damaged capture replays every good frame and then reports where (exit 1);
 * an unknown `--at` lists what exists (exit 2).
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCapturePath } from '../../src/cli/replay-command.js';
import { defaultScenarioPath } from '../../src/scenario/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Result lines (`  N  t  …  VERDICT`) of the text output, by input frame number. */
const resultFrames = (out: string): number[] => [...out.matchAll(/^\s*(\d+)\+?\s+\d+\.\d{6}\s/gm)].map((m) => Number(m[1]));

describe('dpemu replay bad inputs', () => {
  it('a scenario with a broken CIDR: exit 2, the problem names file, document, line and field; nothing replayed', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(defaultScenarioPath(), 'utf8').replace('podCIDR: 10.244.2.0/24', 'podCIDR: 10.244.2.0/33'));
    const r = await runCli(['replay', '--scenario', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${bad}:doc 1 (line `);
    expect(r.err).toMatch(/spec\.nodes\[1\]\.podCIDR: expected an IPv4 CIDR .*got "10\.244\.2\.0\/33"/);
  });

  it('a missing capture: exit 2 naming it, nothing on stdout', async () => {
    const missing = join(dir, 'nope.pcapng');
    const r = await runCli(['replay', missing]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(missing);
  });

  it('a truncated capture: every good frame is replayed, then the error with its byte offset, exit 1', async () => {
    const whole = readFileSync(defaultCapturePath());
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    const r = await runCli(['replay', cut]);
    expect(r.code).toBe(1);
    // The walk has 19 frames; the last block is cut, so frames 1..18 each have a result line.
    const frames = new Set(resultFrames(r.out));
    expect([...frames].sort((a, b) => a - b)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(r.err).toMatch(new RegExp(`${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: EPB at byte offset \\d+: .*TRUNCATED_BLOCK`));
    const offset = Number(/byte offset (\d+)/.exec(r.err)![1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(whole.length - 100);
  });

  it('--at nonexistent: exit 2 listing the pods and nodes, nothing replayed', async () => {
    const r = await runCli(['replay', '--at', 'nonexistent']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/--at nonexistent: no pod, node or device of that name/);
    for (const p of ['default/pod-a', 'default/backend-a', 'default/backend-b', 'kube-system/coredns-0', 'node-1', 'node-2', 'node-3']) expect(r.err).toContain(p);
  });
});
