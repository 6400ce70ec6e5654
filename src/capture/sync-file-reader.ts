import { closeSync, openSync, readSync } from 'node:fs';
import type { RecordDecoder } from './decoder.js';
import { createDecoder } from './detect.js';
import { CaptureFileError } from './errors.js';
import { ChunkWindow, Step, captureHeaderInfo, openFailed } from './chunk-window.js';
import { FrameBatch } from './frame-batch.js';
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
  private readonly w: ChunkWindow;
  private finished = false;
  readonly batch: FrameBatch;

  /** Set by `open` before the reader is handed out. */
  private decoder!: RecordDecoder;

  private constructor(readonly path: string, fd: number, options: OpenCaptureOptions) {
    this.fd = fd;
    this.w = new ChunkWindow(path, Math.max(16, options.chunkSize ?? DEFAULT_CHUNK));
    this.batch = new FrameBatch(options.batchSize ?? DEFAULT_BATCH);
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
      throw openFailed(path, e);
    }
    const r = new CaptureFileReader(path, fd, options);
    const w = r.w;
    try {
      r.readMore(4);
      r.decoder = createDecoder(w.buf.subarray(0, Math.min(4, w.end)), path);
    } catch (e) {
      r.close();
      throw e;
    }
    try {
      while (w.decodeHeaderStep(r.decoder)) r.readMore(w.compact(r.decoder.needBytes));
    } catch (e) {
      if (!(e instanceof CaptureFileError)) {
        r.close();
        throw e;
      }
      w.pending = e;
    }
    return r;
  }

  /** Bytes held for reading: the chunk size, or the largest single record seen if that was bigger. */
  get bufferCapacity(): number {
    return this.w.buf.length;
  }

  get format(): CaptureFormat {
    return this.decoder.format;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.decoder.interfaces;
  }

  get header(): CaptureHeaderInfo {
    return captureHeaderInfo(this.decoder);
  }

  /** Fills `batch` (default: the reader's own) with the next frames; returns how many, 0 at end (file closed). */
  next(batch: FrameBatch = this.batch): number {
    batch.reset();
    const w = this.w;
    if (w.pending !== undefined) {
      const e = w.pending;
      w.pending = undefined;
      this.close();
      throw e;
    }
    if (this.finished) return 0;
    const decoder = this.decoder;
    for (;;) {
      let step: number;
      try {
        step = w.decodeStep(decoder, batch);
      } catch (e) {
        this.close();
        throw e;
      }
      if (step === Step.RETURN) return batch.count;
      if (step === Step.END) {
        this.close();
        return 0;
      }
      this.readMore(w.compact(decoder.needBytes));
    }
  }

  /** Reads until the window holds at least `want` bytes from its start, is full, or the file ends. */
  private readMore(want: number): void {
    const fd = this.fd;
    const w = this.w;
    if (fd === undefined) return;
    while (w.wants(want)) {
      let n: number;
      try {
        n = readSync(fd, w.buf, w.end, w.readLength, w.readAt);
      } catch (e) {
        throw w.readFailed(e);
      }
      w.filled(n);
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
