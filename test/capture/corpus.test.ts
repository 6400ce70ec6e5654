import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureFileError } from '../../src/capture/index.js';
import { CORPUS, readAsync, readIndex, readSync, readTsharkLengths } from './corpus-helpers.js';

/**
 * Files where dpemu deliberately differs from capinfos/TShark, one reason each. Everything else must match.
 * `reads`: dpemu reads the file without error although capinfos could not (expected frame count given).
 * `skipPerFrame`: the .tshark.tsv rows are not one-per-packet, so per-frame lengths are not compared.
 */
const EXCEPTIONS: Record<string, { reads?: number; skipPerFrame?: string; reason: string }> = {
  'tcpdump__dsa.pcap': {
    reads: 8,
    reason: 'capinfos refuses unknown link type 284; dpemu passes any link type through (tcpdump 4.99 reads the same 8 frames)',
  },
  'tcpdump__juniper_es_oobr.pcap': {
    reads: 1,
    reason: 'capinfos cannot map link-type field 0x30000084 (FCS bits set); dpemu masks FCS bits as libpcap does -> link type 132 (tcpdump reads the same 1 frame)',
  },
  'pcapngtg__le_difficult_test202.pcapng': {
    skipPerFrame: 'custom',
    reason: 'TShark 4.0 lists the 3 Custom Blocks as frames (11 rows for 8 packets, SOURCES.md); capinfos and dpemu count 8',
  },
};

const rows = readIndex();

describe('capture corpus (test/fixtures/corpus)', () => {
  it('INDEX.tsv lists every capture file and the exception list names only real files', () => {
    expect(rows.length).toBeGreaterThan(100);
    const names = new Set(rows.map((r) => r.file));
    for (const f of Object.keys(EXCEPTIONS)) expect(names.has(f), f).toBe(true);
  });

  for (const row of rows) {
    it(`${row.file} [${row.category}]`, async () => {
      const path = join(CORPUS, row.file);
      const bytes = readFileSync(path);
      const sync = readSync(bytes, row.file);
      const ex = EXCEPTIONS[row.file];

      if (row.readerError === '') {
        // capinfos read it: same packet count, no error.
        expect(sync.error, sync.error?.message).toBeUndefined();
        expect(sync.frames.length).toBe(row.packets);
        const tsv = readTsharkLengths(row.file);
        if (ex?.skipPerFrame === undefined) {
          expect(tsv.length).toBe(sync.frames.length);
          sync.frames.forEach((f, i) => {
            expect([f.caplen, f.wireLen], `frame ${i + 1}`).toEqual([tsv[i].capLen, tsv[i].len]);
          });
        }
      } else if (ex?.reads !== undefined) {
        expect(sync.error, sync.error?.message).toBeUndefined();
        expect(sync.frames.length).toBe(ex.reads);
      } else {
        // capinfos could not read it: dpemu must refuse with a typed error naming the file and an offset.
        expect(sync.error).toBeInstanceOf(CaptureFileError);
        const e = sync.error as CaptureFileError;
        expect(e.file).toBe(row.file);
        expect(Number.isInteger(e.offset)).toBe(true);
        expect(e.message).toContain(row.file);
        expect(e.message).toContain(e.code);
        expect(e.message).toContain(String(e.offset));
      }

      for (const f of sync.frames) {
        expect(f.tsNsec).toBeLessThan(1e9);
        expect(Number.isInteger(f.tsSec)).toBe(true);
      }

      // The streaming reader, with the default 4 MiB chunk and with a tiny chunk (carry-over), agrees exactly.
      const asyncDefault = await readAsync(path, { batchSize: 3 });
      const asyncTiny = await readAsync(path, { batchSize: 64, chunkSize: 64 });
      for (const other of [asyncDefault, asyncTiny]) {
        expect(other.frames).toEqual(sync.frames);
        expect(other.error?.code).toBe(sync.error?.code);
        expect(other.error?.offset).toBe(sync.error?.offset);
      }
    });
  }
});
