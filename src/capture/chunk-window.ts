import type { RecordDecoder } from './decoder.js';
import { CaptureFileError } from './errors.js';
import type { FrameBatch } from './frame-batch.js';
import type { CaptureHeaderInfo } from './types.js';

/** What one decode pass over the window asks the reader to do next. */
export const Step = {
  /** Hand the batch out (full, or frames that point into the buffer before it is compacted). */
  RETURN: 0,
  /** The file ended with no frame left: close. */
  END: 1,
  /** Out of bytes: compact, read more (`decoder.needBytes`), then decode again. */
  REFILL: 2,
} as const;

/**
 * The bytes of a chunked capture reader (CaptureStream, CaptureFileReader): one buffer holding
 * [start, end) of the file from offset `base`, the unconsumed tail carried over to the front when
 * more is read, grown only when one record is larger than a chunk. The readers differ only in how
 * they read (await fh.read or fs.readSync) into `buf` at `readAt` for `readLength` bytes.
 */
export class ChunkWindow {
  buf: Uint8Array;
  start = 0;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  /** Damage found after good frames: thrown by the reader's next call. */
  pending: CaptureFileError | undefined;

  constructor(readonly path: string, readonly chunkSize: number) {
    this.buf = new Uint8Array(chunkSize);
  }

  /**
   * Moves the unconsumed tail to the front and grows the buffer if one record needs more.
   * Returns how many bytes from `start` the following reads should gather.
   */
  compact(need: number): number {
    const tail = this.end - this.start;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.start = 0;
      this.end = tail;
    }
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
    return Math.max(need, tail + 1);
  }

  /** True while another read is useful: fewer than `want` bytes held, room left, file not ended. */
  wants(want: number): boolean {
    return !this.eof && this.end - this.start < want && this.end < this.buf.length;
  }

  get readAt(): number {
    return this.base + this.end;
  }

  get readLength(): number {
    return Math.min(this.chunkSize, this.buf.length - this.end);
  }

  /** Records a read of `n` bytes at `end` (0: the file ended). */
  filled(n: number): void {
    if (n === 0) this.eof = true;
    this.end += n;
  }

  readFailed(e: unknown): CaptureFileError {
    // open(2) succeeds on a directory; the first read says EISDIR.
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') return new CaptureFileError('READ_FAILED', this.path, 'file', 0, 'is a directory', 'name a pcap or pcapng file');
    return new CaptureFileError('READ_FAILED', this.path, 'file', this.readAt, `read failed: ${(e as Error).message}`, 'check the file and the disk');
  }

  /**
   * Decodes what the window holds into `batch`. Damage after good frames is kept in `pending` and
   * the good frames returned; damage before any frame throws.
   */
  decodeStep(decoder: RecordDecoder, batch: FrameBatch): number {
    try {
      this.start = decoder.decode(this.buf, this.start, this.end, this.base, batch, this.eof);
    } catch (e) {
      if (e instanceof CaptureFileError && batch.count > 0) {
        this.pending = e;
        return Step.RETURN;
      }
      throw e;
    }
    if (batch.count === batch.capacity) return Step.RETURN;
    if (this.eof) return batch.count > 0 ? Step.RETURN : Step.END;
    // Out of bytes: frames already in the batch point into buf, so hand them out before compacting it.
    return batch.count > 0 ? Step.RETURN : Step.REFILL;
  }

  /** Decodes the header blocks held so far; returns true when the decoder needs more bytes first. */
  decodeHeaderStep(decoder: RecordDecoder): boolean {
    this.start = decoder.decodeHeader(this.buf, this.start, this.end, this.base, this.eof);
    return decoder.needBytes !== 0 && !this.eof;
  }
}

/** The error for a capture file that cannot be opened. */
export function openFailed(path: string, e: unknown): CaptureFileError {
  const err = e as NodeJS.ErrnoException;
  const code = err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'READ_FAILED';
  return new CaptureFileError(code, path, 'file', 0, `cannot open: ${err.message}`, 'check the path and permissions');
}

/** The file header facts every reader reports (byte order lets a writer reproduce the file). */
export function captureHeaderInfo(d: RecordDecoder): CaptureHeaderInfo {
  return { format: d.format, littleEndian: d.littleEndian, versionMajor: d.versionMajor, versionMinor: d.versionMinor };
}
