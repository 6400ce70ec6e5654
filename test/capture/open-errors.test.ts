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
});
