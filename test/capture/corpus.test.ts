import { readdirSync, readFileSync } from 'node:fs';
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

/**
 * Captures capinfos refuses and dpemu must refuse too: the error code and byte offset, read off the bytes.
 * shb-option-too-long: the SHB says 52 bytes and its trailing length field holds 0x30303030; dpemu checks
 * the trailer before walking options (so it names the block), capinfos walks the options first and stops at
 * the option that overruns it (length 12336). Both call the file damaged.
 */
const REFUSED: Record<string, string> = {
  'libpcap__tests_pcap-invalid-version-1.pcap': 'UNSUPPORTED_VERSION@0', // major version 1 in the file header
  'libpcap__tests_pcapng-invalid-vers-1.pcapng': 'UNSUPPORTED_VERSION@0', // SHB version 0.1
  'libpcap__tests_shb-option-too-long.pcapng': 'BAD_BLOCK_TRAILER@0',
  'libpcap__tests_linktype-reserved-field-not-zero.pcap': 'BAD_LINKTYPE@20', // the link-type word of the file header
};

const rows = readIndex();

describe('capture corpus (test/fixtures/corpus)', () => {
  it('INDEX.tsv lists exactly the capture files, each has its .tshark.tsv, and the exception lists name only real files', () => {
    const files = readdirSync(CORPUS);
    const captures = files.filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();
    expect(captures.length).toBe(135);
    expect(rows.map((r) => r.file).sort()).toEqual(captures);
    expect(files.filter((f) => f.endsWith('.tshark.tsv')).map((f) => f.slice(0, -'.tshark.tsv'.length)).sort()).toEqual(captures);
    const names = new Set(captures);
    for (const f of [...Object.keys(EXCEPTIONS), ...Object.keys(REFUSED)]) expect(names.has(f), f).toBe(true);
    // Every capture capinfos refuses is either read on purpose (EXCEPTIONS.reads) or pinned in REFUSED.
    const refused = rows.filter((r) => r.readerError !== '' && EXCEPTIONS[r.file]?.reads === undefined).map((r) => r.file).sort();
    expect(refused).toEqual(Object.keys(REFUSED).sort());
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
        expect(`${e.code}@${e.offset}`).toBe(REFUSED[row.file]);
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
