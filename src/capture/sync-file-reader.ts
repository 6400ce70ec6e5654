import { closeSync, openSync, readSync } from 'node:fs';
import type { RecordDecoder } from './decoder.js';
import { createDecoder } from './detect.js';
import { CaptureFileError } from './errors.js';
import { FrameBatch } from './frame-batch.js';
import { PcapDecoder } from './pcap-decoder.js';
import type { CaptureFormat, CaptureHeaderInfo, CaptureInterface, OpenCaptureOptions } from './types.js';

/**
 * 4 MiB, as openCapture. The chunk just copied by fs.readSync is still in the CPU cache when its records are
 * decoded and parsed: on a 766 MB file in page cache with parsePacket per frame (bench/read-parse.ts),
 * 512 KiB-4 MiB ran at 6.3-6.6 M frames/s, 16 MiB at 3.4 and 64 MiB at 2.4, besides costing memory.
 */
const DEFAULT_CHUNK = 4 * 1024 * 1024;
const DEFAULT_BATCH = 1024;

/**
 * Synchronous chunked file reader: the CaptureStream design (chunk + carry-over of the partial record, so memory
 * stays at about one chunk whatever the file size, e.g. a 7.5 GB file that fs.readFileSync cannot load) with
 * blocking fs.readSync, for tools and benchmarks that want the fastest single-core loop and no event-loop hops.
 * Same contract as CaptureReader: frames before damage come first, the `next` after them throws CaptureFileError.
 * A batch's `buf` is valid until the next `next` call.
 */
export class CaptureFileReader {
  private fd: number | undefined;
  private buf: Uint8Array;
  private start = 0;
  private end = 0;
  /** File offset of buf[0]. */
  private base = 0;
  private eof = false;
  private pending: CaptureFileError | undefined;
  private finished = false;
  readonly batch: FrameBatch;
  private readonly chunkSize: number;

  /** Set by `open` before the reader is handed out. */
  private decoder!: RecordDecoder;

  private constructor(readonly path: string, fd: number, options: OpenCaptureOptions) {
    this.fd = fd;
    this.chunkSize = Math.max(16, options.chunkSize ?? DEFAULT_CHUNK);
    this.batch = new FrameBatch(options.batchSize ?? DEFAULT_BATCH);
    this.buf = new Uint8Array(this.chunkSize);
  }

  /**
   * Opens the file and decodes the header (pcapng: the blocks before the first packet). Unreadable files throw
   * here (FILE_NOT_FOUND, READ_FAILED, EMPTY_FILE, UNKNOWN_FORMAT); damage inside the header surfaces on the first `next`.
   */
  static open(path: string, options: OpenCaptureOptions = {}): CaptureFileReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'READ_FAILED';
      throw new CaptureFileError(code, path, 'file', 0, `cannot open: ${err.message}`, 'check the path and permissions');
    }
    const r = new CaptureFileReader(path, fd, options);
    try {
      r.readMore(4);
      r.decoder = createDecoder(r.buf.subarray(0, Math.min(4, r.end)), path);
    } catch (e) {
      r.close();
      throw e;
    }
    try {
      for (;;) {
        r.start = r.decoder.decodeHeader(r.buf, r.start, r.end, r.base, r.eof);
        if (r.decoder.needBytes === 0 || r.eof) break;
        r.makeRoom(r.decoder.needBytes);
      }
    } catch (e) {
      if (!(e instanceof CaptureFileError)) {
        r.close();
        throw e;
      }
      r.pending = e;
    }
    return r;
  }

  /** Bytes held for reading: the chunk size, or the largest single record seen if that was bigger. */
  get bufferCapacity(): number {
    return this.buf.length;
  }

  get format(): CaptureFormat {
    return this.decoder.format;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.decoder.interfaces;
  }

  get header(): CaptureHeaderInfo {
    const d = this.decoder;
    return d instanceof PcapDecoder
      ? { format: 'pcap', littleEndian: d.littleEndian, versionMajor: d.versionMajor, versionMinor: d.versionMinor }
      : { format: 'pcapng', littleEndian: d.littleEndian, versionMajor: 1, versionMinor: 0 };
  }

  /** Fills `batch` (default: the reader's own) with the next frames; returns how many, 0 at end (file closed). */
  next(batch: FrameBatch = this.batch): number {
    batch.reset();
    if (this.pending !== undefined) {
      const e = this.pending;
      this.pending = undefined;
      this.finished = true;
      this.close();
      throw e;
    }
    if (this.finished) return 0;
    const decoder = this.decoder;
    for (;;) {
      try {
        this.start = decoder.decode(this.buf, this.start, this.end, this.base, batch, this.eof);
      } catch (e) {
        if (e instanceof CaptureFileError && batch.count > 0) {
          this.pending = e;
          return batch.count;
        }
        this.finished = true;
        this.close();
        throw e;
      }
      if (batch.count === batch.capacity) return batch.count;
      if (this.eof) {
        if (batch.count === 0) {
          this.finished = true;
          this.close();
        }
        return batch.count;
      }
      // Out of bytes: frames already in the batch point into buf, so hand them out before compacting it.
      if (batch.count > 0) return batch.count;
      this.makeRoom(decoder.needBytes);
    }
  }

  /** Moves the unconsumed tail to the front, grows the buffer if one record needs more, and reads. */
  private makeRoom(need: number): void {
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
    this.readMore(Math.max(need, tail + 1));
  }

  /** Reads until buf holds at least `want` bytes from `start`, the buffer is full, or the file ends. */
  private readMore(want: number): void {
    const fd = this.fd;
    if (fd === undefined) return;
    while (!this.eof && this.end - this.start < want && this.end < this.buf.length) {
      let bytesRead: number;
      try {
        bytesRead = readSync(fd, this.buf, this.end, Math.min(this.chunkSize, this.buf.length - this.end), this.base + this.end);
      } catch (e) {
        throw new CaptureFileError('READ_FAILED', this.path, 'file', this.base + this.end, `read failed: ${(e as Error).message}`, 'check the file and the disk');
      }
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
    }
  }

  /** Closes the file (idempotent); `next` returns 0 afterwards. */
  close(): void {
    this.finished = true;
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  *[Symbol.iterator](): Iterator<FrameBatch> {
    try {
      while (this.next(this.batch) > 0) yield this.batch;
    } finally {
      this.close();
    }
  }
}
