import { capLength } from './bytes.js';
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC } from './pcap-decoder.js';
import { BufferSink, FileSink } from './sink.js';
import type { ByteSink } from './sink.js';

export interface PcapWriterOptions {
  linkType: number;
  /** Default 262144 (libpcap's maximum). 0 = no limit, as in pcapng (files from some tools carry 0; Wireshark reads it so). */
  snaplen?: number;
  /** Nanosecond magic (0xa1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** Default true; false writes a big-endian file. */
  littleEndian?: boolean;
}

/** Writes a classic pcap file (version 2.4). */
export class PcapWriter {
  readonly sink: ByteSink;
  private readonly hdr = new Uint8Array(16);
  private readonly view = new DataView(this.hdr.buffer);
  private readonly le: boolean;
  private readonly nano: boolean;
  readonly snaplen: number;

  constructor(options: PcapWriterOptions, sink: ByteSink = new BufferSink()) {
    this.sink = sink;
    this.le = options.littleEndian ?? true;
    this.nano = options.nanosecond ?? false;
    this.snaplen = options.snaplen ?? 262144;
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setUint32(0, this.nano ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, this.le);
    v.setUint16(4, 2, this.le);
    v.setUint16(6, 4, this.le);
    v.setUint32(16, this.snaplen, this.le);
    v.setUint32(20, options.linkType >>> 0, this.le);
    sink.write(h);
  }

  static toFile(path: string, options: PcapWriterOptions): PcapWriter {
    return new PcapWriter(options, new FileSink(path));
  }

  /** Frames longer than a non-zero snaplen are cut to it; `wireLen` keeps the original length. */
  writePacket(data: Uint8Array, tsSec: number, tsNsec: number, wireLen: number = data.length): void {
    // pcap has 32-bit unsigned seconds; wrapping silently would reorder time, so refuse (use pcapng past 2106).
    if (!(tsSec >= 0 && tsSec < 4294967296) || !(tsNsec >= 0 && tsNsec < 1e9)) {
      throw new RangeError(`PcapWriter: timestamp ${tsSec}s ${tsNsec}ns is outside what pcap can store (0 <= s < 2^32, 0 <= ns < 1e9)`);
    }
    const caplen = capLength(data.length, this.snaplen);
    const v = this.view;
    v.setUint32(0, tsSec >>> 0, this.le);
    v.setUint32(4, this.nano ? tsNsec : Math.floor(tsNsec / 1000), this.le);
    v.setUint32(8, caplen, this.le);
    v.setUint32(12, wireLen, this.le);
    this.sink.write(this.hdr);
    this.sink.write(caplen === data.length ? data : data.subarray(0, caplen));
  }

  /** The bytes written so far, when writing to the default in-memory sink. */
  toBuffer(): Buffer {
    if (!(this.sink instanceof BufferSink)) throw new Error('PcapWriter.toBuffer: the writer is not collecting into memory');
    return this.sink.toBuffer();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
