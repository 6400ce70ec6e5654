import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader, FrameBatch, PcapngWriter, PcapWriter, openCapture } from '../../src/capture/index.js';
import { readAsync, readSync } from './corpus-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dpemu-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic frames of varied lengths (including ones that need pcapng padding). */
function frames(count: number): { data: Buffer; sec: number; nsec: number; wire: number }[] {
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    const len = 14 + (rnd() % 200);
    const data = Buffer.alloc(len);
    for (let j = 0; j < len; j++) data[j] = rnd() & 0xff;
    return { data, sec: 1_700_000_000 + i, nsec: (rnd() % 1_000_000) * 1000 + (i % 2 === 0 ? 0 : 789), wire: len + (i % 3 === 0 ? 100 : 0) };
  });
}

function requireTshark(): string {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error('tshark is required for this test (Wireshark interop check); install it: `apt-get install tshark` (CI installs it)');
  }
  return 'tshark';
}

describe('pcap write -> read', () => {
  for (const littleEndian of [true, false]) {
    for (const nanosecond of [false, true]) {
      it(`${littleEndian ? 'LE' : 'BE'} ${nanosecond ? 'nsec' : 'usec'}: byte-identical re-write, frames preserved`, () => {
        const input = frames(50);
        const w = new PcapWriter({ linkType: 1, nanosecond, littleEndian });
        for (const f of input) w.writePacket(f.data, f.sec, f.nsec, f.wire);
        const a = w.toBuffer();

        const r = CaptureReader.fromBuffer(a, 'a.pcap');
        expect(r.header).toMatchObject({ format: 'pcap', littleEndian });
        expect(r.interfaces[0]).toMatchObject({ linkType: 1, snaplen: 262144, tsresol: nanosecond ? 9 : 6 });
        const w2 = new PcapWriter({ linkType: r.interfaces[0].linkType, snaplen: r.interfaces[0].snaplen, nanosecond: r.interfaces[0].tsresol === 9, littleEndian: r.header.littleEndian });
        const batch = new FrameBatch(7);
        const got: [number, number, number, string][] = [];
        while (r.next(batch) > 0) {
          for (let i = 0; i < batch.count; i++) {
            w2.writePacket(batch.data(i), batch.tsSec[i], batch.tsNsec[i], batch.wireLen[i]);
            got.push([batch.tsSec[i], batch.tsNsec[i], batch.wireLen[i], Buffer.from(batch.data(i)).toString('hex')]);
          }
        }
        expect(got).toEqual(input.map((f) => [f.sec, nanosecond ? f.nsec : Math.floor(f.nsec / 1000) * 1000, f.wire, f.data.toString('hex')]));
        expect(Buffer.compare(w2.toBuffer(), a)).toBe(0);
      });
    }
  }

  it('copies a file whose header snaplen is 0 (no limit, as tshark reads it) without cutting the frames to nothing', () => {
    const input = frames(5);
    const src = new PcapWriter({ linkType: 1, snaplen: 0 });
    for (const f of input) src.writePacket(f.data, f.sec, f.nsec, f.wire);
    const r = CaptureReader.fromBuffer(src.toBuffer(), 'snap0.pcap');
    expect(r.interfaces[0].snaplen).toBe(0);
    const copy = new PcapWriter({ linkType: r.interfaces[0].linkType, snaplen: r.interfaces[0].snaplen });
    const b = new FrameBatch(8);
    while (r.next(b) > 0) for (let i = 0; i < b.count; i++) copy.writePacket(b.data(i), b.tsSec[i], b.tsNsec[i], b.wireLen[i]);
    const back = readSync(copy.toBuffer(), 'copy.pcap');
    expect(back.error).toBeUndefined();
    expect(back.frames.map((f) => [f.caplen, f.data])).toEqual(input.map((f) => [f.data.length, f.data.toString('hex')]));
    expect(Buffer.compare(copy.toBuffer(), src.toBuffer())).toBe(0);
  });

  it('writes to a file that tshark reads with no error', async () => {
    const tshark = requireTshark();
    const path = join(dir, 'w.pcap');
    const w = PcapWriter.toFile(path, { linkType: 1, nanosecond: true });
    const input = frames(20);
    for (const f of input) w.writePacket(f.data, f.sec, f.nsec, f.wire);
    await w.close();
    const out = execFileSync(tshark, ['-n', '-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.trim().split('\n')).toEqual(input.map((f) => `${f.wire}\t${f.data.length}`));
    const back = await readAsync(path);
    expect(back.error).toBeUndefined();
    expect(back.frames.length).toBe(20);
  });
});

/** The comments frame i of the round trip carries: none, one, or (every 8th) two opt_comment options. */
function commentsOf(i: number): string | string[] | undefined {
  if (i % 8 === 0) return [`hop ${i}: verdict=ACCEPT ✓`, `second comment of ${i}`];
  return i % 4 === 0 ? `hop ${i}: verdict=ACCEPT ✓` : undefined;
}

describe('pcapng write -> read', () => {
  for (const littleEndian of [true, false]) {
    it(`${littleEndian ? 'LE' : 'BE'}: several interfaces, comments and flags, byte-identical re-write`, () => {
      const input = frames(40);
      const w = new PcapngWriter({ littleEndian });
      const ifs = [w.addInterface({ linkType: 1, name: 'veth-pod-a' }), w.addInterface({ linkType: 101, name: 'vxlan.calico' }), w.addInterface({ linkType: 1, nanosecond: false })];
      input.forEach((f, i) => {
        const ifId = ifs[i % 3];
        w.writePacket(ifId, f.data, f.sec, f.nsec, f.wire, commentsOf(i), i % 5 === 0 ? 0x2 : undefined);
      });
      const a = w.toBuffer();

      const r = CaptureReader.fromBuffer(a, 'a.pcapng');
      expect(r.interfaces.map((x) => [x.linkType, x.name, x.tsresol])).toEqual([[1, 'veth-pod-a', 9], [101, 'vxlan.calico', 9], [1, undefined, 6]]);
      const w2 = new PcapngWriter({ littleEndian: r.header.littleEndian });
      for (const x of r.interfaces) w2.addInterface({ linkType: x.linkType, name: x.name, snaplen: x.snaplen, nanosecond: x.tsresol === 9 });
      const s = readSync(a, 'a.pcapng');
      expect(s.error).toBeUndefined();
      s.frames.forEach((f, i) => {
        const want = commentsOf(i);
        expect(f.comments).toEqual(typeof want === 'string' ? [want] : want);
        expect(f.flags).toBe(i % 5 === 0 ? 2 : 0);
        expect(f.interfaceId).toBe(i % 3);
        expect(f.tsSec).toBe(input[i].sec);
        expect(f.tsNsec).toBe(i % 3 === 2 ? Math.floor(input[i].nsec / 1000) * 1000 : input[i].nsec);
        w2.writePacket(f.interfaceId, Buffer.from(f.data, 'hex'), f.tsSec, f.tsNsec, f.wireLen, f.comments, i % 5 === 0 ? f.flags : undefined);
      });
      expect(Buffer.compare(w2.toBuffer(), a)).toBe(0);
    });
  }

  it('refuses what an EPB cannot hold (a comment over 65535 bytes, a timestamp outside 0..2^64 units) and writes nothing for it', () => {
    const w = new PcapngWriter();
    const ns = w.addInterface({ linkType: 1 });
    const us = w.addInterface({ linkType: 1, nanosecond: false });
    const before = w.toBuffer().length;
    const data = Buffer.alloc(20, 1);
    expect(() => w.writePacket(ns, data, 1, 0, 20, 'x'.repeat(65536))).toThrow(RangeError);
    expect(() => w.writePacket(ns, data, 1, 0, 20, 'é'.repeat(40000))).toThrow(/80000 bytes/);
    expect(() => w.writePacket(ns, data, -1, 500_000_000)).toThrow(RangeError);
    expect(() => w.writePacket(ns, data, 1, 1e9)).toThrow(RangeError);
    // 2^64 ns is 18446744073.709551616 s; one more second does not fit, at microseconds it does.
    expect(() => w.writePacket(ns, data, 18446744074, 0)).toThrow(RangeError);
    // epb_flags is 32 bits: a larger value was cut to its low bits.
    expect(() => w.writePacket(ns, data, 1, 0, 20, undefined, 2 ** 32)).toThrow(/epb_flags 4294967296 is not a 32-bit unsigned value/);
    expect(() => w.writePacket(ns, data, 1, 0, 20, undefined, -1)).toThrow(RangeError);
    expect(w.toBuffer().length).toBe(before);
    w.writePacket(ns, data, 1, 0, 20, 'y'.repeat(65535));
    w.writePacket(ns, data, 18446744073, 709551615);
    w.writePacket(us, data, 18446744074, 0);
    const s = readSync(w.toBuffer(), 'limits.pcapng');
    expect(s.error).toBeUndefined();
    expect(s.frames.map((f) => [f.tsSec, f.tsNsec, f.comments?.[0].length])).toEqual([[1, 0, 65535], [18446744073, 709551615, undefined], [18446744074, 0, undefined]]);
  });

  it('tshark shows the comments (frame.comment) and interface names, and reads the file with no error', async () => {
    const tshark = requireTshark();
    const path = join(dir, 'c.pcapng');
    const w = PcapngWriter.toFile(path, { userAppl: 'dpemu test' });
    const a = w.addInterface({ linkType: 1, name: 'eth0' });
    const b = w.addInterface({ linkType: 1, name: 'cali123' });
    const input = frames(6);
    const say = (i: number): string => `verdict ${i}: ${i % 2 === 0 ? 'FORWARD' : 'DROP (policy)'}`;
    // Frame 5 carries two opt_comment options: tshark -T fields joins them with ','.
    input.forEach((f, i) => w.writePacket(i % 2 === 0 ? a : b, f.data, f.sec, f.nsec, f.wire, i === 5 ? [say(i), 'second'] : say(i), 1));
    await w.close();
    const r = spawnSync(tshark, ['-n', '-r', path, '-T', 'fields', '-e', 'frame.comment', '-e', 'frame.interface_name', '-e', 'frame.len'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.replace(/Running as user "root".*\n?/, '').trim()).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(input.map((f, i) => `${say(i)}${i === 5 ? ',second' : ''}\t${i % 2 === 0 ? 'eth0' : 'cali123'}\t${f.wire}`));
    const cap = await openCapture(path);
    expect(cap.interfaces.map((x) => x.name)).toEqual(['eth0', 'cali123']);
    const got: string[] = [];
    for await (const f of cap.frames()) got.push(`${f.index}:${f.comments?.join('|')}:${f.data.length}`);
    expect(got).toEqual(input.map((f, i) => `${i}:${say(i)}${i === 5 ? '|second' : ''}:${f.data.length}`));
  });
});
