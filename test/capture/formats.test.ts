import { describe, expect, it } from 'vitest';
import { CaptureFileError, CaptureReader, FrameBatch } from '../../src/capture/index.js';
import { Blocks, pcapFile } from './block-builder.js';
import { readSync } from './corpus-helpers.js';

/** A nanosecond timestamp beyond 2^53, so a float of ns would lose it. */
const NS = 1701200000123456789n;
const pkt = (n: number, fill = 0xab): Buffer => Buffer.alloc(n, fill);

describe('pcap reader', () => {
  for (const le of [true, false]) {
    for (const nsec of [false, true]) {
      it(`${le ? 'LE' : 'BE'} ${nsec ? 'nsec' : 'usec'}: timestamps, lengths, snaplen truncation`, () => {
        const f = pcapFile({ le, nsec, snaplen: 64 }, [
          { sec: 1700000000, frac: nsec ? 123456789 : 123456, data: pkt(60) },
          { sec: 4294967295, frac: nsec ? 999999999 : 999999, data: pkt(64), wireLen: 1514 },
        ]);
        const r = readSync(f, 'x.pcap');
        expect(r.error).toBeUndefined();
        expect(r.frames.map((x) => [x.tsSec, x.tsNsec, x.caplen, x.wireLen, x.recordOffset])).toEqual([
          [1700000000, nsec ? 123456789 : 123456000, 60, 60, 24],
          [4294967295, nsec ? 999999999 : 999999000, 64, 1514, 24 + 16 + 60],
        ]);
      });
    }
  }

  it('masks FCS bits of the link-type field and reports the FCS length; rejects reserved bits', () => {
    const ok = CaptureReader.fromBuffer(pcapFile({ linkField: 0x04000000 | (2 << 28) | 1 }, []), 'fcs.pcap');
    expect(ok.interfaces[0]).toMatchObject({ linkType: 1, fcsLength: 4 });
    const bad = readSync(pcapFile({ linkField: 0x00300001 }, []), 'r.pcap');
    expect(bad.error?.code).toBe('BAD_LINKTYPE');
  });

  it('swaps caplen/len for version 2.2 files like libpcap', () => {
    // Pre-2.3 writers put len before caplen: the builder writes (caplen, wireLen) = (100, 60) meaning len 100, caplen 60.
    const f = pcapFile({ version: [2, 2] }, [{ sec: 1, frac: 0, data: pkt(60), wireLen: 100 }]);
    // Rewrite the record so field 8 holds 100 (len) and field 12 holds 60 (caplen).
    f.writeUInt32LE(100, 24 + 8);
    f.writeUInt32LE(60, 24 + 12);
    const r = readSync(f, 'v22.pcap');
    expect(r.frames.map((x) => [x.caplen, x.wireLen])).toEqual([[60, 100]]);
  });

  it('delivers good records, then TRUNCATED_RECORD with the offset of the cut record', () => {
    const full = pcapFile({}, [{ sec: 1, frac: 0, data: pkt(40) }, { sec: 2, frac: 0, data: pkt(40) }, { sec: 3, frac: 0, data: pkt(40) }]);
    const reader = CaptureReader.fromBuffer(full.subarray(0, full.length - 10), 'cut.pcap');
    const b = new FrameBatch(16);
    expect(reader.next(b)).toBe(2);
    expect(() => reader.next(b)).toThrow(CaptureFileError);
    const r = readSync(full.subarray(0, full.length - 10), 'cut.pcap');
    expect(r.error).toMatchObject({ code: 'TRUNCATED_RECORD', offset: 24 + 2 * 56, blockType: 'pcap record data' });
    expect(r.error?.message).toMatch(/cut\.pcap: pcap record data at byte offset 136/);
  });

  it('trailing garbage shorter than a record header is an error, not ignored', () => {
    const f = Buffer.concat([pcapFile({}, [{ sec: 1, frac: 0, data: pkt(40) }]), Buffer.from([1, 2, 3])]);
    const r = readSync(f, 'g.pcap');
    expect(r.frames.length).toBe(1);
    expect(r.error).toMatchObject({ code: 'TRUNCATED_RECORD', blockType: 'pcap record header', offset: 80 });
  });

  it('reads Kuznetsov\'s modified pcap (magic 0xa1b2cd34, `editcap -F modpcap`): 24-byte record headers, either order', () => {
    for (const le of [true, false]) {
      // The plain file, then 8 bytes (ifindex, protocol, pkt_type, pad) spliced after each 16-byte record header.
      const plain = pcapFile({ le }, [{ sec: 1518622219, frac: 14914, data: pkt(42) }, { sec: 1518622222, frac: 228510, data: pkt(60, 0xcd), wireLen: 70 }]);
      const extra = Buffer.from([0, 0, 0, 2, 8, 0, 4, 0]);
      const f = Buffer.concat([plain.subarray(0, 24), plain.subarray(24, 40), extra, plain.subarray(40, 82), plain.subarray(82, 98), extra, plain.subarray(98)]);
      if (le) f.writeUInt32LE(0xa1b2cd34, 0);
      else f.writeUInt32BE(0xa1b2cd34, 0);
      const r = readSync(f, 'mod.pcap');
      expect(r.error).toBeUndefined();
      // tshark -r mod.pcap: 1518622219.014914000 42 42, 1518622222.228510000 70 60.
      expect(r.frames.map((x) => [x.tsSec, x.tsNsec, x.wireLen, x.caplen, x.recordOffset, x.data])).toEqual([
        [1518622219, 14914000, 42, 42, 24, pkt(42).toString('hex')],
        [1518622222, 228510000, 70, 60, 24 + 24 + 42, pkt(60, 0xcd).toString('hex')],
      ]);
      const cut = readSync(f.subarray(0, 24 + 24 + 42 + 20), 'mod.pcap');
      expect(cut.frames.length).toBe(1);
      expect(cut.error).toMatchObject({ code: 'TRUNCATED_RECORD', offset: 90, detail: 'file ends 20 bytes into a 24-byte record header' });
    }
  });

  it('rejects a caplen above libpcap\'s maximum for the link type', () => {
    const f = pcapFile({}, [{ sec: 1, frac: 0, data: pkt(10) }]);
    f.writeUInt32LE(300000, 24 + 8);
    expect(readSync(f, 'big.pcap').error?.code).toBe('BAD_CAPLEN');
  });

  it('names unknown formats, empty files and short files', () => {
    expect(readSync(Buffer.alloc(0), 'e').error?.code).toBe('EMPTY_FILE');
    expect(readSync(Buffer.from([0xd4, 0xc3]), 's').error?.code).toBe('TRUNCATED_FILE_HEADER');
    expect(readSync(Buffer.from('GIF89a........................'), 'g').error?.code).toBe('UNKNOWN_FORMAT');
    expect(readSync(pcapFile({}, []).subarray(0, 20), 'h').error?.code).toBe('TRUNCATED_FILE_HEADER');
    expect(readSync(pcapFile({ version: [1, 4] }, []), 'v').error?.code).toBe('UNSUPPORTED_VERSION');
  });
});

describe('pcapng reader', () => {
  it('reads EPB options (comment, flags), if_name, if_tsresol (10^-n and 2^-n), if_tsoffset', () => {
    const b = new Blocks();
    const f = b
      .shb()
      .idb(1, 0, b.opts(b.option(2, Buffer.from('eth0')), b.option(9, Buffer.from([9]))))
      .idb(101, 0, b.opts(b.option(9, Buffer.from([0x80 | 20])), b.option(14, Buffer.from([100, 0, 0, 0, 0, 0, 0, 0]))))
      .idb(1, 0)
      .epb(0, Number(NS >> 32n), Number(NS & 0xffffffffn), pkt(33), 33, b.opts(b.option(1, Buffer.from('verdict: DROP')), b.option(2, Buffer.from([1, 0, 0, 0])), b.option(1, Buffer.from('2nd'))))
      // 2^-20 s units: 3.5 s = 3.5 * 2^20 units.
      .epb(1, 0, 3.5 * 2 ** 20, pkt(20))
      // microseconds (default): 1700000000.000001 s.
      .epb(2, Math.floor(1700000000000001 / 2 ** 32), 1700000000000001 % 2 ** 32, pkt(20))
      .build();
    const r = CaptureReader.fromBuffer(f, 'o.pcapng');
    expect(r.format).toBe('pcapng');
    expect(r.interfaces.map((i) => [i.id, i.linkType, i.name, i.tsresol, i.tsoffset])).toEqual([
      [0, 1, 'eth0', 9, 0],
      [1, 101, undefined, 0x80 | 20, 100],
      [2, 1, undefined, 6, 0],
    ]);
    const s = readSync(f, 'o.pcapng');
    expect(s.error).toBeUndefined();
    expect(s.frames.map((x) => [x.interfaceId, x.linkType, x.tsSec, x.tsNsec, x.comments, x.flags])).toEqual([
      [0, 1, 1701200000, 123456789, ['verdict: DROP', '2nd'], 1],
      [1, 101, 103, 500000000, undefined, 0],
      [2, 1, 1700000000, 1000, undefined, 0],
    ]);
  });

  it('reads opt_comment and if_name up to a NUL some writers add, as tshark shows them', () => {
    const b = new Blocks();
    const f = b
      .shb()
      .idb(1, 0, b.opts(b.option(2, Buffer.from('eth0\0'))))
      .epb(0, 0, 1, pkt(10), 10, b.opts(b.option(1, Buffer.from('ab\0cd\0\0'))))
      .epb(0, 0, 2, pkt(10), 10, b.opts(b.option(1, Buffer.from('\0'))))
      .build();
    const r = CaptureReader.fromBuffer(f, 'nul.pcapng');
    const s = readSync(f, 'nul.pcapng');
    expect(s.error).toBeUndefined();
    // tshark -e frame.comment -e frame.interface_name: `ab  eth0`, then an empty comment.
    expect(s.frames.map((x) => x.comments)).toEqual([['ab'], ['']]);
    expect(r.interfaces[0].name).toBe('eth0');
  });

  it('SPB takes interface 0 snaplen: caplen = min(len, snaplen); OPB is read', () => {
    const f = new Blocks().shb().idb(1, 50).spb(100, pkt(64)).spb(30, pkt(32)).opb(0, 0, 5_000_000, pkt(12)).build();
    const s = readSync(f, 'spb.pcapng');
    expect(s.error).toBeUndefined();
    expect(s.frames.map((x) => [x.caplen, x.wireLen, x.tsSec, x.timed])).toEqual([[50, 100, 0, false], [30, 30, 0, false], [12, 12, 5, true]]);
  });

  it('an SPB (no timestamp) keeps the last timed frame\'s time and is marked untimed, across batches', () => {
    const f = new Blocks().shb().idb(1, 0).epb(0, 0, 7_000_001, pkt(20)).spb(20, pkt(20)).spb(20, pkt(20)).epb(0, 0, 9_000_000, pkt(20)).spb(20, pkt(20)).build();
    for (const batchSize of [1, 2, 5]) {
      const s = readSync(f, 'spb-time.pcapng', batchSize);
      expect(s.error).toBeUndefined();
      expect(s.frames.map((x) => [x.tsSec, x.tsNsec, x.timed]), `batch ${batchSize}`).toEqual([
        [7, 1000, true], [7, 1000, false], [7, 1000, false], [9, 0, true], [9, 0, false],
      ]);
    }
  });

  it('an SPB too short for min(len, snaplen) is a damaged block, as tshark says ("damaged or corrupt"), not a cut frame', () => {
    const short = readSync(new Blocks().shb().idb(1, 0).spb(100, pkt(60)).build(), 'spb-short.pcapng');
    expect(short.frames).toHaveLength(0);
    expect(short.error).toMatchObject({ code: 'BAD_BLOCK_LENGTH', blockType: 'SPB', offset: 48 });
    expect(short.error?.message).toContain('holds 60 bytes of data but its packet needs 100 (original length 100)');
    // With snaplen 60 the same block is whole (tshark: len 100, cap_len 60).
    const snap = readSync(new Blocks().shb().idb(1, 60).spb(100, pkt(60)).build(), 'spb-snap.pcapng');
    expect(snap.error).toBeUndefined();
    expect(snap.frames.map((x) => [x.caplen, x.wireLen])).toEqual([[60, 100]]);
  });

  it('skips NRB, ISB, DSB, custom (0xBAD, 0x40000BAD) and unknown blocks by length', () => {
    const b = new Blocks();
    const f = b
      .shb()
      .idb(1, 0)
      .block(4, Buffer.alloc(8))
      .block(5, Buffer.alloc(12))
      .block(0xa, Buffer.alloc(16))
      .block(0xbad, Buffer.alloc(8, 7))
      .block(0x40000bad, Buffer.alloc(4, 7))
      .block(0x12345678, Buffer.alloc(0))
      .epb(0, 0, 1, pkt(10))
      .build();
    const s = readSync(f, 'skip.pcapng');
    expect(s.error).toBeUndefined();
    expect(s.frames.length).toBe(1);
  });

  it('several sections with different byte orders renumber interfaces per section', () => {
    const f = Buffer.concat([
      new Blocks(true).shb().idb(1, 0).epb(0, 0, 1, pkt(10)).build(),
      new Blocks(false).shb(false).idb(101, 0).idb(1, 0).epb(1, 0, 2, pkt(11)).epb(0, 0, 3, pkt(12)).build(),
    ]);
    const r = CaptureReader.fromBuffer(f, 'm.pcapng');
    const s = readSync(f, 'm.pcapng');
    expect(s.error).toBeUndefined();
    expect(r.interfaces.map((i) => [i.sectionIndex, i.localId, i.linkType])).toEqual([[0, 0, 1]]);
    expect(s.frames.map((x) => [x.interfaceId, x.linkType, x.caplen])).toEqual([[0, 1, 10], [2, 1, 11], [1, 101, 12]]);
  });

  it('header.littleEndian stays the first section\'s after later sections of the other order are read', () => {
    for (const first of [true, false]) {
      const f = Buffer.concat([
        new Blocks(first).shb(first).idb(1, 0).epb(0, 0, 1, pkt(10)).build(),
        new Blocks(!first).shb(!first).idb(1, 0).epb(0, 0, 2, pkt(10)).build(),
      ]);
      const r = CaptureReader.fromBuffer(f, 'o.pcapng');
      expect(r.header.littleEndian).toBe(first);
      const b = new FrameBatch(1);
      let n = 0;
      while (r.next(b) > 0) n++;
      expect(n).toBe(2);
      // `dpemu inspect` prints this after its summary pass as "pcapng (<order> first section)".
      expect(r.header.littleEndian).toBe(first);
    }
  });

  it('header reports the first section\'s version: 1.2 (some old writers) as written, not 1.0', () => {
    const v12 = new Blocks().shb().idb(1, 0).epb(0, 0, 1, pkt(10)).build();
    v12.writeUInt16LE(2, 14);
    const r = CaptureReader.fromBuffer(v12, 'v12.pcapng');
    expect([r.header.versionMajor, r.header.versionMinor]).toEqual([1, 2]);
    expect(r.next(new FrameBatch(4))).toBe(1);
    const v10 = CaptureReader.fromBuffer(new Blocks().shb().build(), 'v10.pcapng');
    expect([v10.header.versionMajor, v10.header.versionMinor]).toEqual([1, 0]);
  });

  const damaged: [string, (b: Blocks) => Blocks, string][] = [
    ['zero block length', (b) => b.raw(Buffer.from([6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), 'BAD_BLOCK_LENGTH'],
    ['length not a multiple of 4', (b) => b.raw(Buffer.from([6, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0, 0])), 'BAD_BLOCK_LENGTH'],
    ['trailer differs', (b) => b.raw(Buffer.from([6, 0, 0, 0, 12, 0, 0, 0, 16, 0, 0, 0])), 'BAD_BLOCK_TRAILER'],
    ['interface id out of range', (b) => b.epb(3, 0, 0, pkt(4)), 'BAD_INTERFACE_ID'],
    ['option overruns block', (b) => b.epb(0, 0, 0, pkt(4), 4, Buffer.from([1, 0, 200, 0])), 'BAD_OPTION_LENGTH'],
    ['caplen beyond block', (b) => b.raw(Buffer.from([6, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 32, 0, 0, 0])), 'BAD_CAPLEN'],
    ['trailing garbage shorter than a block header', (b) => b.raw(Buffer.from([1, 2, 3, 4])), 'TRUNCATED_BLOCK'],
    ['truncated block', (b) => b.raw(Buffer.from([6, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0])), 'TRUNCATED_BLOCK'],
  ];
  for (const [name, damage, code] of damaged) {
    it(`delivers frames before damage, then ${code}: ${name}`, () => {
      const good = new Blocks().shb().idb(1, 0).epb(0, 0, 1, pkt(10)).build();
      const f = damage(new Blocks().shb().idb(1, 0).epb(0, 0, 1, pkt(10))).build();
      const s = readSync(f, 'd.pcapng');
      expect(s.frames.length).toBe(1);
      expect(s.error?.code).toBe(code);
      expect(s.error?.offset).toBe(good.length);
      expect(s.error?.message).toContain(`byte offset ${good.length}`);
    });
  }

  it('a file cut inside a block header names that block when its type word is there', () => {
    const whole = new Blocks().shb().idb(1, 0).epb(0, 0, 1, pkt(10)).build();
    expect(readSync(whole.subarray(0, 10), 'c.pcapng').error?.message).toMatch(/: SHB at byte offset 0: file ends 10 bytes into a block header/);
    const good = new Blocks().shb().idb(1, 0).build();
    expect(readSync(whole.subarray(0, good.length + 8), 'c.pcapng').error?.message).toContain(`: EPB at byte offset ${good.length}: `);
  });

  it('a block before the SHB, an unsupported version and a bad byte-order magic are errors', () => {
    const f = new Blocks().shb().build();
    f.writeUInt16LE(2, 12);
    expect(readSync(f, 'v.pcapng').error?.code).toBe('UNSUPPORTED_VERSION');
    const g = new Blocks().shb().build();
    g.writeUInt32LE(0x11223344, 8);
    expect(readSync(g, 'm.pcapng').error?.code).toBe('BAD_MAGIC');
  });
});
