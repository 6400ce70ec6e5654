import type { FrameBatch } from './frame-batch.js';
import type { CaptureFormat, CaptureInterface } from './types.js';

/**
 * The one record-decoding core shared by the in-memory reader and the streaming reader.
 * A decoder keeps only format state (byte order, interfaces); the caller owns the bytes.
 */
export interface RecordDecoder {
  readonly format: CaptureFormat;
  /** Grows as pcapng IDBs are read; for pcap, filled once the file header is decoded. */
  readonly interfaces: CaptureInterface[];
  /** Byte order of the file header (pcapng: of the first section, whatever later sections use). */
  readonly littleEndian: boolean;
  /** The file header's version (pcap's, or the first pcapng section's). */
  readonly versionMajor: number;
  readonly versionMinor: number;
  /**
   * Decode records from `buf[pos, end)` into `batch` (appending at `batch.count`); `buf[0]` is at file offset `base`.
   * Stops when the batch is full, the bytes run out, or the next record is incomplete, in which case `needBytes`
   * says how many bytes from the returned position it needs. With `eof` an incomplete record is damage.
   * Returns the position after the last whole record consumed. Throws CaptureFileError on damage, after setting
   * `batch.count` to the frames completed so far.
   */
  decode(buf: Uint8Array, pos: number, end: number, base: number, batch: FrameBatch, eof: boolean): number;
  needBytes: number;
  /**
   * Decode only the file header (pcap) or the blocks before the first packet block (pcapng: SHB, IDBs), so
   * `interfaces` is known before the first frame. Same position/needBytes/eof contract as `decode`.
   */
  decodeHeader(buf: Uint8Array, pos: number, end: number, base: number, eof: boolean): number;
}
