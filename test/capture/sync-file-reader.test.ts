import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFileError, CaptureFileReader, FrameBatch, PcapWriter } from '../../src/capture/index.js';
import { CORPUS, readIndex, readSync } from './corpus-helpers.js';
import type { FrameSnapshot, ReadResult } from './corpus-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-capture-syncfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readFileChunked(path: string, opts: { batchSize?: number; chunkSize?: number }): ReadResult {
  const frames: FrameSnapshot[] = [];
  let format: string | undefined;
  try {
    const r = CaptureFileReader.open(path, opts);
    format = r.format;
    for (const b of r) {
      for (let i = 0; i < b.count; i++) {
        frames.push({
          caplen: b.caplen[i], wireLen: b.wireLen[i], tsSec: b.tsSec[i], tsNsec: b.tsNsec[i], interfaceId: b.interfaceId[i],
          linkType: b.linkType[i], recordOffset: b.recordOffset[i], comments: b.comments[i], flags: b.flags[i], timed: b.untimed[i] === 0,
          data: Buffer.from(b.data(i)).toString('hex'),
        });
      }
    }
    return { frames, error: undefined, format };
  } catch (e) {
    if (e instanceof CaptureFileError) return { frames, error: e, format };
    throw e;
  }
}

describe('CaptureFileReader (sync, chunked)', () => {
  // Every corpus file (good and damaged, pcap and pcapng): same frames and same error as the in-memory reader,
  // with the default chunk and with a 64-byte chunk that forces a carry-over at almost every record.
  for (const row of readIndex()) {
    it(`${row.file}: agrees with CaptureReader.fromBuffer`, () => {
      const path = join(CORPUS, row.file);
      const mem = readSync(readFileSync(path), row.file, 7);
      for (const opts of [{ batchSize: 3 }, { batchSize: 64, chunkSize: 64 }]) {
        const got = readFileChunked(path, opts);
        expect(got.frames).toEqual(mem.frames);
        expect(got.error?.code).toBe(mem.error?.code);
        expect(got.error?.offset).toBe(mem.error?.offset);
      }
    });
  }

  it('keeps memory bounded: the buffer stays at the chunk size unless one record is larger', () => {
    const path = join(dir, 'many.pcap');
    const w = new PcapWriter({ linkType: 1 });
    for (let i = 0; i < 5000; i++) w.writePacket(new Uint8Array(100 + (i % 50)).fill(i & 255), i, 0);
    w.writePacket(new Uint8Array(3000), 9999, 0);
    writeFileSync(path, w.toBuffer());
    const small = CaptureFileReader.open(path, { chunkSize: 64 * 1024 });
    let n = 0;
    let firstByteSum = 0;
    for (const b of small) {
      for (let i = 0; i < b.count; i++) firstByteSum += b.buf[b.offset[i]];
      n += b.count;
    }
    expect(n).toBe(5001);
    let expected = 0;
    for (let i = 0; i < 5000; i++) expected += i & 255;
    expect(firstByteSum).toBe(expected);
    expect(small.bufferCapacity).toBe(64 * 1024);
    const tiny = CaptureFileReader.open(path, { chunkSize: 256 });
    n = 0;
    for (const b of tiny) n += b.count;
    expect(n).toBe(5001);
    // Grew once for the 3016-byte record (doubling), not with the file size (~650 kB).
    expect(tiny.bufferCapacity).toBeLessThanOrEqual(2 * 3016);
  });

  it('open errors are typed: FILE_NOT_FOUND, UNKNOWN_FORMAT; header damage surfaces on the first next()', () => {
    const missing = join(dir, 'nope.pcap');
    expect(() => CaptureFileReader.open(missing)).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
    const txt = join(dir, 'x.txt');
    writeFileSync(txt, 'hello, this is not a capture file');
    expect(() => CaptureFileReader.open(txt)).toThrow(expect.objectContaining({ code: 'UNKNOWN_FORMAT' }));

    const w = new PcapWriter({ linkType: 113, nanosecond: true, littleEndian: false });
    w.writePacket(new Uint8Array(20), 5, 6);
    const buf = w.toBuffer();
    buf.writeUInt16BE(7, 4);
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, buf);
    const r = CaptureFileReader.open(bad);
    expect(r.format).toBe('pcap');
    expect(() => r.next()).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION', offset: 0 }));
    expect(r.next()).toBe(0);
  });

  it('exposes header and interfaces before the first batch; close() ends reading early', () => {
    const path = join(dir, 'ok.pcap');
    const w = new PcapWriter({ linkType: 113, nanosecond: true, littleEndian: false });
    for (let i = 0; i < 10; i++) w.writePacket(new Uint8Array(20), 5, 6);
    writeFileSync(path, w.toBuffer());
    const r = CaptureFileReader.open(path, { chunkSize: 64 });
    expect(r.header).toMatchObject({ format: 'pcap', littleEndian: false });
    expect(r.interfaces[0]).toMatchObject({ linkType: 113, tsresol: 9 });
    const b = new FrameBatch(4);
    expect(r.next(b)).toBeGreaterThan(0);
    r.close();
    expect(r.next(b)).toBe(0);
  });
});
