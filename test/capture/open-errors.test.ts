import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFileError, PcapWriter, openCapture } from '../../src/capture/index.js';
import { DpemuError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-capture-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openCapture errors', () => {
  it('a missing file is FILE_NOT_FOUND naming the path', async () => {
    const path = join(dir, 'nope.pcap');
    const e = await openCapture(path).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CaptureFileError);
    expect(e).toBeInstanceOf(DpemuError);
    expect((e as CaptureFileError).code).toBe('FILE_NOT_FOUND');
    expect((e as CaptureFileError).message).toContain(path);
  });

  it('an unknown format is UNKNOWN_FORMAT with a hint', async () => {
    const path = join(dir, 'x.txt');
    writeFileSync(path, 'hello, this is not a capture file');
    const e = (await openCapture(path).catch((x: unknown) => x)) as CaptureFileError;
    expect(e.code).toBe('UNKNOWN_FORMAT');
    expect(e.message).toMatch(/editcap/);
  });

  it('exposes format and interfaces after open, before the first batch; damage in the header surfaces on first read', async () => {
    const path = join(dir, 'ok.pcap');
    const w = new PcapWriter({ linkType: 113, nanosecond: true, littleEndian: false });
    w.writePacket(new Uint8Array(20), 5, 6);
    writeFileSync(path, w.toBuffer());
    const cap = await openCapture(path, { batchSize: 2 });
    expect(cap.format).toBe('pcap');
    expect(cap.interfaces).toEqual([{ id: 0, sectionIndex: 0, localId: 0, linkType: 113, fcsLength: 0, snaplen: 262144, tsresol: 9, tsoffset: 0 }]);
    let n = 0;
    for await (const b of cap) n += b.count;
    expect(n).toBe(1);

    const bad = join(dir, 'bad.pcap');
    const buf = w.toBuffer();
    buf.writeUInt16BE(7, 4);
    writeFileSync(bad, buf);
    const cap2 = await openCapture(bad);
    expect(cap2.format).toBe('pcap');
    await expect(cap2.next()).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION', offset: 0, blockType: 'pcap file header' });
  });

  it('keeps memory bounded: the buffer stays at the chunk size unless one record is larger', async () => {
    const path = join(dir, 'many.pcap');
    const w = new PcapWriter({ linkType: 1 });
    for (let i = 0; i < 5000; i++) w.writePacket(new Uint8Array(100 + (i % 50)), i, 0);
    w.writePacket(new Uint8Array(3000), 9999, 0);
    writeFileSync(path, w.toBuffer());
    const small = await openCapture(path, { chunkSize: 64 * 1024 });
    let n = 0;
    for await (const b of small) n += b.count;
    expect(n).toBe(5001);
    expect(small.bufferCapacity).toBe(64 * 1024);
    const tiny = await openCapture(path, { chunkSize: 256 });
    n = 0;
    for await (const b of tiny) n += b.count;
    expect(n).toBe(5001);
    // Grew once for the 3016-byte record (doubling), not with the file size (~650 kB).
    expect(tiny.bufferCapacity).toBeLessThanOrEqual(2 * 3016);
  });
});
