/**
 * A capture argument that is not pcap/pcapng gets a hint that fits what it is: a gzip'd capture (which tcpdump and
 * Wireshark open, so people pass it) says to decompress it, a text file (the scenario YAML in the capture's place)
 * says where a scenario goes. Exit 2 either way (docs/cli.md).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/cli.js';

const DEFAULT = join(import.meta.dirname, '..', '..', 'pcaps', 'default');

describe('a capture in another format', () => {
  it('a gzip\'d pcap: decompress it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-fmt-'));
    const gz = join(dir, 'pod-a.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(DEFAULT, 'pod-a.pcap'))));
    for (const args of [['inspect', gz], ['replay', gz, '--engine', 'ts'], ['ct', gz]]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/\[UNKNOWN_FORMAT\]; it is gzip-compressed: decompress it first \(gunzip -k FILE\); dpemu reads uncompressed pcap and pcapng\n$/);
      expect(r.err.split('\n')).toHaveLength(2);
    }
  });

  it('the scenario YAML given as the capture: says where a scenario goes', async () => {
    const r = await run(['replay', join(DEFAULT, 'scenario.yaml'), '--engine', 'ts']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/\[UNKNOWN_FORMAT\]; it starts like a text file: a scenario YAML goes after --scenario, the capture argument is a pcap or pcapng file/);
  });
});
