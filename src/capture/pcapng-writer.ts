import { capLength, pad4 } from './bytes.js';
import { BT_EPB, BT_IDB, BT_SHB, BYTE_ORDER_MAGIC } from './pcapng-decoder.js';
import { BufferSink, FileSink } from './sink.js';
import type { ByteSink } from './sink.js';
import { joinPow10 } from './timestamp.js';

export interface PcapngWriterOptions {
  /** Default true; false writes a big-endian section. */
  littleEndian?: boolean;
  /** shb_userappl, e.g. "dpemu 0.1.0". */
  userAppl?: string;
}

export interface PcapngInterfaceOptions {
  linkType: number;
  name?: string;
  /** 0 = no limit. Default 262144. */
  snaplen?: number;
  /** if_tsresol 9 (nanoseconds), the default; false keeps the pcapng default of microseconds. */
  nanosecond?: boolean;
}

const utf8 = new TextEncoder();

const NO_COMMENTS: readonly Uint8Array[] = [];

/** Writes one pcapng section: interfaces added at any time, Enhanced Packet Blocks with optional comment/flags. */
export class PcapngWriter {
  readonly sink: ByteSink;
  private readonly le: boolean;
  private readonly ifaces: { snaplen: number; tsresol: number }[] = [];
  private readonly hdr = new Uint8Array(28);
  private readonly view = new DataView(this.hdr.buffer);
  private readonly tail = new Uint8Array(32);
  private readonly tailView = new DataView(this.tail.buffer);
  private readonly ts = { hi: 0, lo: 0 };

  constructor(options: PcapngWriterOptions = {}, sink: ByteSink = new BufferSink()) {
    this.sink = sink;
    this.le = options.littleEndian ?? true;
    const opts: Uint8Array[] = [];
    if (options.userAppl !== undefined) opts.push(this.option(4, utf8.encode(options.userAppl)));
    const body = this.withEnd(opts);
    const total = 28 + body.length;
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    v.setUint32(0, BT_SHB, this.le);
    v.setUint32(4, total, this.le);
    v.setUint32(8, BYTE_ORDER_MAGIC, this.le);
    v.setUint16(12, 1, this.le);
    v.setUint16(14, 0, this.le);
    // Section length -1: unknown, the usual value for a streamed section.
    v.setInt32(16, -1, this.le);
    v.setInt32(20, -1, this.le);
    b.set(body, 24);
    v.setUint32(total - 4, total, this.le);
    sink.write(b);
  }

  static toFile(path: string, options: PcapngWriterOptions = {}): PcapngWriter {
    return new PcapngWriter(options, new FileSink(path));
  }

  /** Writes an IDB; returns the interface id to pass to `writePacket`. */
  addInterface(options: PcapngInterfaceOptions): number {
    const nano = options.nanosecond ?? true;
    const snaplen = options.snaplen ?? 262144;
    const opts: Uint8Array[] = [];
    if (options.name !== undefined) opts.push(this.option(2, utf8.encode(options.name)));
    if (nano) opts.push(this.option(9, Uint8Array.of(9)));
    const body = this.withEnd(opts);
    const total = 20 + body.length;
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    v.setUint32(0, BT_IDB, this.le);
    v.setUint32(4, total, this.le);
    v.setUint16(8, options.linkType, this.le);
    v.setUint32(12, snaplen, this.le);
    b.set(body, 16);
    v.setUint32(total - 4, total, this.le);
    this.sink.write(b);
    this.ifaces.push({ snaplen, tsresol: nano ? 9 : 6 });
    return this.ifaces.length - 1;
  }

  /**
   * Writes an EPB. `comment` becomes opt_comment (Wireshark shows it as the packet comment); a list becomes
   * one opt_comment per entry, in order, as a read block's `comments` came.
   */
  writePacket(interfaceId: number, data: Uint8Array, tsSec: number, tsNsec: number, wireLen: number = data.length, comment?: string | readonly string[], flags?: number): void {
    const ifc = this.ifaces[interfaceId];
    if (ifc === undefined) throw new RangeError(`PcapngWriter: interface ${interfaceId} was not added (have ${this.ifaces.length})`);
    const caplen = capLength(data.length, ifc.snaplen);
    const padded = pad4(caplen);
    const commentBytes = comment === undefined ? NO_COMMENTS : typeof comment === 'string' ? [utf8.encode(comment)] : comment.map((c) => utf8.encode(c));
    // Checked before any byte is written: an option length field is 16 bits, so a longer comment would
    // be cut to its low 16 bits and the rest of the block read as garbage options (tshark: "damaged").
    for (const c of commentBytes) {
      if (c.length > 0xffff) throw new RangeError(`PcapngWriter: comment is ${c.length} bytes of UTF-8; a pcapng option holds at most 65535`);
    }
    // The EPB timestamp is an unsigned 64-bit count of units: negative seconds (before 1970) or one past
    // 2^64 units would wrap to another time (-1 s read back as the year 2554), so refuse, as PcapWriter does.
    if (!(tsSec >= 0) || !(tsNsec >= 0 && tsNsec < 1e9)) {
      throw new RangeError(`PcapngWriter: timestamp ${tsSec}s ${tsNsec}ns is outside what pcapng can store (s >= 0, 0 <= ns < 1e9)`);
    }
    if (flags !== undefined && !(Number.isInteger(flags) && flags >= 0 && flags <= 0xffffffff)) {
      throw new RangeError(`PcapngWriter: epb_flags ${flags} is not a 32-bit unsigned value`);
    }
    joinPow10(tsSec, tsNsec, ifc.tsresol, this.ts);
    if (!(this.ts.hi <= 0xffffffff)) {
      throw new RangeError(`PcapngWriter: timestamp ${tsSec}s does not fit in 64 bits of 10^-${ifc.tsresol} s units`);
    }
    let optLen = 0;
    for (const c of commentBytes) optLen += 4 + pad4(c.length);
    if (flags !== undefined) optLen += 8;
    if (optLen > 0) optLen += 4;
    const total = 28 + padded + optLen + 4;
    const le = this.le;
    const v = this.view;
    v.setUint32(0, BT_EPB, le);
    v.setUint32(4, total, le);
    v.setUint32(8, interfaceId, le);
    v.setUint32(12, this.ts.hi, le);
    v.setUint32(16, this.ts.lo, le);
    v.setUint32(20, caplen, le);
    v.setUint32(24, wireLen, le);
    this.sink.write(this.hdr);
    this.sink.write(caplen === data.length ? data : data.subarray(0, caplen));
    const tv = this.tailView;
    let t = 0;
    const flushTail = (): void => {
      this.sink.write(this.tail.subarray(0, t));
      t = 0;
    };
    // Padding of the packet data.
    for (let i = caplen; i < padded; i++) this.tail[t++] = 0;
    for (const c of commentBytes) {
      tv.setUint16(t, 1, le);
      tv.setUint16(t + 2, c.length, le);
      t += 4;
      flushTail();
      this.sink.write(c);
      for (let i = c.length; i < pad4(c.length); i++) this.tail[t++] = 0;
    }
    if (flags !== undefined) {
      tv.setUint16(t, 2, le);
      tv.setUint16(t + 2, 4, le);
      tv.setUint32(t + 4, flags >>> 0, le);
      t += 8;
    }
    if (optLen > 0) {
      tv.setUint32(t, 0, le);
      t += 4;
    }
    tv.setUint32(t, total, le);
    t += 4;
    flushTail();
  }

  private option(code: number, value: Uint8Array): Uint8Array {
    if (value.length > 0xffff) throw new RangeError(`pcapng option ${code} is ${value.length} bytes; the maximum is 65535`);
    const b = new Uint8Array(4 + pad4(value.length));
    const v = new DataView(b.buffer);
    v.setUint16(0, code, this.le);
    v.setUint16(2, value.length, this.le);
    b.set(value, 4);
    return b;
  }

  /** Concatenates options and appends opt_endofopt (nothing at all when there are no options). */
  private withEnd(opts: Uint8Array[]): Uint8Array {
    if (opts.length === 0) return new Uint8Array(0);
    const len = opts.reduce((s, o) => s + o.length, 0) + 4;
    const b = new Uint8Array(len);
    let p = 0;
    for (const o of opts) {
      b.set(o, p);
      p += o.length;
    }
    return b;
  }

  toBuffer(): Buffer {
    if (!(this.sink instanceof BufferSink)) throw new Error('PcapngWriter.toBuffer: the writer is not collecting into memory');
    return this.sink.toBuffer();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
