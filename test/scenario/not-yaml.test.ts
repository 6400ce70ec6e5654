/**
 * A file that is not a YAML scenario (a capture given with --scenario, a gzip'd file, binary garbage) is one
 * problem saying what it is, and a long value in a "got ..." is cut: never kilobytes of the file echoed back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadScenario, loadScenarioText } from '../../src/scenario/index.js';

const PCAPS = join(import.meta.dirname, '..', '..', 'pcaps', 'default');

function problems(files: string[]): string[] {
  const r = loadScenario(files);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.problems.map((p) => `${p.file}: ${p.message}`);
}

describe('a file that is not YAML text', () => {
  it.each([
    ['walk.pcapng', /got a pcapng capture: give it as the capture argument \(dpemu replay FILE\), not with --scenario$/],
    ['pod-a.pcap', /got a pcap capture: give it as the capture argument/],
  ])('%s given as the scenario: one problem naming the format', (name, message) => {
    const p = problems([join(PCAPS, name)]);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(message);
  });

  it('gzip-compressed YAML: gunzip it first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-notyaml-'));
    const file = join(dir, 'scenario.yaml.gz');
    writeFileSync(file, gzipSync('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n'));
    expect(problems([file])).toEqual([`${file}: expected a YAML scenario file, got gzip-compressed: gunzip it first`]);
  });

  it('binary garbage (NUL bytes): one short problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-notyaml-'));
    const file = join(dir, 'garbage.yaml');
    const bytes = new Uint8Array(3000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) & 0xff;
    writeFileSync(file, bytes);
    expect(problems([file])).toEqual([`${file}: expected a YAML scenario file (text), got binary data (NUL bytes)`]);
  });
});

describe('a long value is cut in "got ..."', () => {
  it('a 5000-character scalar shows its first 80 characters and its length', () => {
    const r = loadScenarioText('Z'.repeat(5000), 'long.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toBe(`expected a mapping with apiVersion and kind, got "${'Z'.repeat(80)}"... (5000 characters)`);
    expect(r.error.message.length).toBeLessThan(300);
  });
});
