import type { FrameBatch } from './frame-batch.js';

/** Container formats dpemu reads and writes. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** One capture interface (the pcap file header, or one pcapng IDB). */
export interface CaptureInterface {
  /** Index into `interfaces`; the value stored in `FrameBatch.interfaceId`. */
  readonly id: number;
  /** pcapng section (0 for pcap) and the interface's id inside that section (what EPBs reference). */
  readonly sectionIndex: number;
  readonly localId: number;
  /** LINKTYPE_* number (low 16 bits of the pcap link-type field, as libpcap's LT_LINKTYPE). */
  readonly linkType: number;
  /** FCS bytes at the end of each frame, from the pcap link-type field (bits 28-31) or pcapng if_fcslen; 0 if unknown. */
  readonly fcsLength: number;
  readonly snaplen: number;
  readonly name?: string;
  /** Raw if_tsresol byte: bit 7 clear = 10^-n seconds, set = 2^-n seconds. pcap: 6 (usec) or 9 (nsec). */
  readonly tsresol: number;
  /** if_tsoffset in seconds, added to every timestamp (0 when absent). */
  readonly tsoffset: number;
}

/**
 * What the replay driver reads frames from: a capture file (CaptureStream) or a live interface (LiveCapture).
 * Each batch is valid until the next iteration step.
 */
export interface FrameSource extends AsyncIterable<FrameBatch> {
  /** `pcap`, `pcapng`, or `live`. */
  readonly format: string;
  readonly interfaces: readonly CaptureInterface[];
  close(): Promise<void>;
}

/** The file header facts a consumer may want (byte order lets a writer reproduce the file). */
export interface CaptureHeaderInfo {
  readonly format: CaptureFormat;
  readonly littleEndian: boolean;
  /** pcap only: version and precision. */
  readonly versionMajor: number;
  readonly versionMinor: number;
}

/** Per-frame view for non-hot-path consumers (CLI inspect). `data` is a view valid until the next frame. */
export interface CaptureFrame {
  /** 0-based frame number in the file. */
  readonly index: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly caplen: number;
  readonly wireLen: number;
  readonly interfaceId: number;
  readonly linkType: number;
  readonly recordOffset: number;
  /** The block's opt_comment options in file order (pcapng only; undefined when it has none). */
  readonly comments: readonly string[] | undefined;
  /** pcapng epb_flags, 0 when absent. */
  readonly flags: number;
  /** False for a frame without its own timestamp (a pcapng Simple Packet Block): tsSec/tsNsec are the last timed frame's. */
  readonly timed: boolean;
  readonly data: Uint8Array;
}

export interface OpenCaptureOptions {
  /** Frames per batch (default 1024). */
  batchSize?: number;
  /** Bytes per fs.read (default 4 MiB). Tiny values are for tests of the carry-over logic. */
  chunkSize?: number;
}
