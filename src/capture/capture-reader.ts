import type { RecordDecoder } from './decoder.js';
import { createDecoder } from './detect.js';
import { CaptureFileError } from './errors.js';
import type { FrameBatch } from './frame-batch.js';
import { captureHeaderInfo } from './chunk-window.js';
import type { CaptureFormat, CaptureHeaderInfo, CaptureInterface } from './types.js';

/**
 * Synchronous batch reader over a capture already in memory. Frames before any damage are returned first;
 * the `next` call after them throws the CaptureFileError.
 */
export class CaptureReader {
  private pos = 0;
  private pending: CaptureFileError | undefined;
  private done = false;

  private constructor(
    private readonly bytes: Uint8Array,
    private readonly decoder: RecordDecoder,
    readonly fileName: string,
  ) {}

  static fromBuffer(bytes: Uint8Array, fileName = '<buffer>'): CaptureReader {
    const reader = new CaptureReader(bytes, createDecoder(bytes.subarray(0, 4), fileName), fileName);
    reader.primeHeader();
    return reader;
  }

  get format(): CaptureFormat {
    return this.decoder.format;
  }

  /** pcap: the one interface. pcapng: the interfaces seen so far (IDBs may appear later in the file). */
  get interfaces(): readonly CaptureInterface[] {
    return this.decoder.interfaces;
  }

  get header(): CaptureHeaderInfo {
    return captureHeaderInfo(this.decoder);
  }

  /** Fills `batch` with the next frames; returns how many (0 at end). */
  next(batch: FrameBatch): number {
    batch.reset();
    if (this.pending !== undefined) {
      const e = this.pending;
      this.pending = undefined;
      this.done = true;
      throw e;
    }
    if (this.done) return 0;
    try {
      this.pos = this.decoder.decode(this.bytes, this.pos, this.bytes.length, 0, batch, true);
    } catch (e) {
      if (e instanceof CaptureFileError && batch.count > 0) {
        this.pending = e;
        return batch.count;
      }
      this.done = true;
      throw e;
    }
    if (batch.count === 0) this.done = true;
    return batch.count;
  }

  /** Decode the header blocks now; damage found here is kept and thrown by the first `next`, like the async reader. */
  private primeHeader(): void {
    try {
      this.pos = this.decoder.decodeHeader(this.bytes, 0, this.bytes.length, 0, true);
    } catch (e) {
      if (!(e instanceof CaptureFileError)) throw e;
      this.pending = e;
    }
  }
}
