/** The capture a replaying command opens: a missing spec.capture says it came from the scenario; a directory says so. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';

const DEFAULT = join(import.meta.dirname, '..', '..', 'pcaps', 'default', 'scenario.yaml');

function withCapture(capture: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dpemu-cap-'));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, readFileSync(DEFAULT, 'utf8').replace(/^  seed: 1 .*$/m, `  seed: 1\n  capture: ${capture}`));
  return { dir, file };
}

describe('the capture path', () => {
  it('a spec.capture that does not exist names where it came from', async () => {
    const { dir, file } = withCapture('missing.pcapng');
    const r = await run(['replay', '--scenario', file, '--engine', 'ts']);
    expect(r.err).toBe(`dpemu: capture ${join(dir, 'missing.pcapng')} (spec.capture of the scenario) does not exist\n`);
    expect(r.code).toBe(2);
  });

  it('a directory is named as one (was: "read failed: EISDIR ...; check the file and the disk")', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-cap-'));
    for (const cmd of ['replay', 'ct']) {
      const r = await run([cmd, dir]);
      expect(r.err).toBe(`dpemu: capture ${dir} is a directory; name a pcap or pcapng file\n`);
      expect(r.code).toBe(2);
    }
  });
});
