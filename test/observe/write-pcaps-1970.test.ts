/**
 * --write-pcaps with frames timed before 1970 (a pcapng interface with a negative if_tsoffset, which readers
 * accept): an Enhanced Packet Block's timestamp is unsigned, so such hop frames are left out, counted and
 * reported, never written with a wrapped time and never a stack trace.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, FrameBatch } from '../../src/capture/index.js';
import { packageRoot } from '../../src/scenario/index.js';
import { Blocks } from '../capture/block-builder.js';
import { runCli } from '../helpers/cli.js';

describe('--write-pcaps and times before 1970', () => {
  it('leaves those hop frames out, says how many, and writes the rest', async () => {
    const pcap = readFileSync(join(packageRoot(), 'pcaps', 'default', 'pod-a.pcap'));
    const caplen = pcap.readUInt32LE(24 + 8);
    const syn = pcap.subarray(40, 40 + caplen);
    const b = new Blocks();
    const tsoffset = Buffer.alloc(8);
    tsoffset.writeBigInt64LE(-100n);
    b.shb().idb(1, 262144, b.opts(b.option(14, tsoffset))).idb(1, 262144);
    b.epb(0, 0, 1_000_000, syn); // -99 s
    b.epb(1, 0, 1_000_000, syn); // 1 s: the same SYN again (a retransmission takes the same path)
    const dir = mkdtempSync(join(tmpdir(), 'dpemu-1970-'));
    const file = join(dir, 'old.pcapng');
    writeFileSync(file, b.build());
    const r = await runCli(['replay', file, '--write-pcaps', join(dir, 'out')]);
    expect(r.code, r.err).toBe(0);
    const left = Number(/left out (\d+) hop frames timed before 1970/.exec(r.err)?.[1]);
    let written = 0;
    for (const node of ['node-1', 'node-2', 'node-3']) {
      const reader = CaptureReader.fromBuffer(readFileSync(join(dir, 'out', `${node}.pcapng`)), node);
      const batch = new FrameBatch(1024);
      const n = reader.next(batch);
      for (let i = 0; i < n; i++) expect(batch.tsSec[i]).toBe(1);
      written += n;
    }
    expect(written).toBeGreaterThan(0);
    expect(left).toBe(written);
  });
});
