import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapngWriter, PcapWriter } from '../../src/capture/index.js';
import { CORPUS, readAsync, readSync } from './corpus-helpers.js';
import type { FrameSnapshot } from './corpus-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-capture-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(seed: number, count: number): { data: Uint8Array; sec: number; nsec: number }[] {
  let s = seed >>> 0;
  const rnd = (): number => (s = (s * 1664525 + 1013904223) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(1 + (rnd() % 120));
    for (let j = 0; j < data.length; j++) data[j] = rnd() & 0xff;
    return { data, sec: 1_600_000_000 + i, nsec: rnd() % 1_000_000_000 };
  });
}

/** Valid files of each flavour: written by dpemu in both byte orders, plus third-party corpus files. */
const VALID: [string, Buffer][] = [];
for (const littleEndian of [true, false]) {
  for (const nanosecond of [false, true]) {
    const w = new PcapWriter({ linkType: 1, nanosecond, littleEndian });
    for (const f of sample(7, 12)) w.writePacket(f.data, f.sec, f.nsec);
    VALID.push([`dpemu-${littleEndian ? 'le' : 'be'}-${nanosecond ? 'ns' : 'us'}.pcap`, w.toBuffer()]);
  }
  const g = new PcapngWriter({ littleEndian, userAppl: 'prop' });
  g.addInterface({ linkType: 1, name: 'a' });
  g.addInterface({ linkType: 101, nanosecond: false });
  sample(9, 12).forEach((f, i) => g.writePacket(i % 2, f.data, f.sec, f.nsec, f.data.length, i % 3 === 0 ? `c${i}` : undefined, i % 4 === 0 ? 1 : undefined));
  VALID.push([`dpemu-${littleEndian ? 'le' : 'be'}.pcapng`, g.toBuffer()]);
}
for (const f of ['pcapngtg__le_difficult_test202.pcapng', 'pcapngtg__be_basic_test010.pcapng', 'zeek__pcapng-multi-interface.pcapng', 'tcpdump__pptp.pcap', 'zeek__snap-tcp.pcap']) {
  VALID.push([f, readFileSync(join(CORPUS, f))]);
}

/**
 * A byte position, reduced modulo the file length at use. Integers, not fc.double in [0, 1]: fast-check draws
 * doubles by bit pattern, so almost all of them are tiny and every damage would land in the first bytes.
 */
const POSITION = fc.integer({ min: 0, max: 0x7fffffff });

/** For each original frame, the file offset where its record ends (the next record's start, or end of file). */
function recordEnds(frames: FrameSnapshot[], fileLen: number): number[] {
  return frames.map((_, i) => (i + 1 < frames.length ? frames[i + 1].recordOffset : fileLen));
}

function checkPrefix(name: string, original: FrameSnapshot[], ends: number[], damaged: Buffer, intactUpTo: number): void {
  const got = readSync(damaged, name, 4);
  const intact = ends.filter((e) => e <= intactUpTo).length;
  expect(got.frames.length).toBeGreaterThanOrEqual(intact);
  expect(got.frames.slice(0, intact)).toEqual(original.slice(0, intact));
}

describe('damaged captures (property)', () => {
  it('originals read cleanly', () => {
    for (const [name, bytes] of VALID) expect(readSync(bytes, name).error, name).toBeUndefined();
  });

  it('random truncation: only CaptureFileError, terminates, frames before the cut are the originals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: VALID.length - 1 }), POSITION, (which, at) => {
        const [name, bytes] = VALID[which];
        const original = readSync(bytes, name).frames;
        const cut = at % (bytes.length + 1);
        const ends = recordEnds(original, bytes.length);
        checkPrefix(name, original, ends, bytes.subarray(0, cut), cut);
        const got = readSync(bytes.subarray(0, cut), name);
        // Cut inside a record: always an error, never silent loss.
        if (got.error === undefined) expect(got.frames.length).toBe(ends.filter((e) => e <= cut).length);
        if (cut < bytes.length && !ends.includes(cut) && cut > 0) expect(got.error?.offset ?? -1).toBeLessThanOrEqual(cut);
      }),
      { numRuns: 400, seed: 20240601 },
    );
  });

  it('random byte flips: only CaptureFileError, terminates, frames before the first flip are the originals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: VALID.length - 1 }),
        fc.array(fc.tuple(POSITION, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }),
        (which, flips) => {
          const [name, bytes] = VALID[which];
          const original = readSync(bytes, name).frames;
          const damaged = Buffer.from(bytes);
          let first = bytes.length;
          for (const [where, mask] of flips) {
            const p = where % bytes.length;
            damaged[p] ^= mask;
            first = Math.min(first, p);
          }
          checkPrefix(name, original, recordEnds(original, bytes.length), damaged, first);
        },
      ),
      { numRuns: 600, seed: 777 },
    );
  });

  it('the streaming reader (64-byte chunks) agrees with the in-memory reader on damaged files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: VALID.length - 1 }), POSITION, fc.integer({ min: 0, max: 255 }), async (which, at, mask) => {
        const [name, bytes] = VALID[which];
        const damaged = Buffer.from(bytes);
        const p = at % bytes.length;
        damaged[p] ^= mask;
        const cut = damaged.subarray(0, damaged.length - (mask % 7));
        const path = join(dir, name);
        writeFileSync(path, cut);
        const sync = readSync(cut, path);
        const stream = await readAsync(path, { chunkSize: 64, batchSize: 3 });
        expect(stream.frames).toEqual(sync.frames);
        expect([stream.error?.code, stream.error?.offset]).toEqual([sync.error?.code, sync.error?.offset]);
      }),
      { numRuns: 150, seed: 4242 },
    );
  });
});
