import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { RecordDecoder } from './decoder.js';
import { createDecoder } from './detect.js';
import { CaptureFileError } from './errors.js';
import { FrameBatch } from './frame-batch.js';
import { PcapDecoder } from './pcap-decoder.js';
import type { CaptureFormat, CaptureFrame, CaptureHeaderInfo, CaptureInterface, OpenCaptureOptions } from './types.js';

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const DEFAULT_BATCH = 1024;

/**
 * Streaming reader: reads the file in chunks with a carry-over of the partial record, so memory stays at about one
 * chunk (or one record, if a record is larger) whatever the file size. Iterating yields the same reused FrameBatch;
 * its `buf` is valid until the next iteration step.
 */
export class CaptureStream implements AsyncIterable<FrameBatch> {
  private fh: FileHandle | undefined;
  private decoder: RecordDecoder | undefined;
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

  constructor(readonly path: string, options: OpenCaptureOptions = {}) {
    this.chunkSize = Math.max(16, options.chunkSize ?? DEFAULT_CHUNK);
    this.batch = new FrameBatch(options.batchSize ?? DEFAULT_BATCH);
    this.buf = new Uint8Array(this.chunkSize);
  }

  /** Opens the file and decodes the header (pcapng: the blocks before the first packet). Idempotent. */
  async open(): Promise<this> {
    if (this.decoder !== undefined) return this;
    try {
      this.fh = await fsp.open(this.path, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'READ_FAILED';
      throw new CaptureFileError(code, this.path, 'file', 0, `cannot open: ${err.message}`, 'check the path and permissions');
    }
    await this.readMore(4);
    this.decoder = createDecoder(this.buf.subarray(0, Math.min(4, this.end)), this.path);
    try {
      for (;;) {
        this.start = this.decoder.decodeHeader(this.buf, this.start, this.end, this.base, this.eof);
        if (this.decoder.needBytes === 0 || this.eof) break;
        await this.makeRoom(this.decoder.needBytes);
      }
    } catch (e) {
      if (!(e instanceof CaptureFileError)) throw e;
      this.pending = e;
    }
    return this;
  }

  /** Bytes held for reading: the chunk size, or the largest single record seen if that was bigger. */
  get bufferCapacity(): number {
    return this.buf.length;
  }

  get format(): CaptureFormat {
    return this.requireDecoder().format;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.requireDecoder().interfaces;
  }

  get header(): CaptureHeaderInfo {
    const d = this.requireDecoder();
    return d instanceof PcapDecoder
      ? { format: 'pcap', littleEndian: d.littleEndian, versionMajor: d.versionMajor, versionMinor: d.versionMinor }
      : { format: 'pcapng', littleEndian: d.littleEndian, versionMajor: 1, versionMinor: 0 };
  }

  private requireDecoder(): RecordDecoder {
    if (this.decoder === undefined) throw new Error('CaptureStream: call `await open()` first');
    return this.decoder;
  }

  /** Fills `batch` (default: the stream's own) with the next frames; 0 at end. Throws after good frames on damage. */
  async next(batch: FrameBatch = this.batch): Promise<number> {
    await this.open();
    const decoder = this.requireDecoder();
    batch.reset();
    if (this.pending !== undefined) {
      const e = this.pending;
      this.pending = undefined;
      this.finished = true;
      await this.close();
      throw e;
    }
    if (this.finished) return 0;
    for (;;) {
      try {
        this.start = decoder.decode(this.buf, this.start, this.end, this.base, batch, this.eof);
      } catch (e) {
        if (e instanceof CaptureFileError && batch.count > 0) {
          this.pending = e;
          return batch.count;
        }
        this.finished = true;
        await this.close();
        throw e;
      }
      if (batch.count === batch.capacity) return batch.count;
      if (this.eof) {
        if (batch.count === 0) {
          this.finished = true;
          await this.close();
        }
        return batch.count;
      }
      // Out of bytes: frames already in the batch point into buf, so hand them out before compacting it.
      if (batch.count > 0) return batch.count;
      await this.makeRoom(decoder.needBytes);
    }
  }

  /** Moves the unconsumed tail to the front, grows the buffer if one record needs more, and reads. */
  private async makeRoom(need: number): Promise<void> {
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
    await this.readMore(Math.max(need, tail + 1));
  }

  /** Reads until buf holds at least `want` bytes from `start` or the file ends. */
  private async readMore(want: number): Promise<void> {
    const fh = this.fh;
    if (fh === undefined) return;
    while (!this.eof && this.end - this.start < want && this.end < this.buf.length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(this.buf, this.end, Math.min(this.chunkSize, this.buf.length - this.end), this.base + this.end));
      } catch (e) {
        throw new CaptureFileError('READ_FAILED', this.path, 'file', this.base + this.end, `read failed: ${(e as Error).message}`, 'check the file and the disk');
      }
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh !== undefined) await fh.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FrameBatch> {
    try {
      while ((await this.next(this.batch)) > 0) yield this.batch;
    } finally {
      await this.close();
    }
  }

  /** One small record per frame (allocates per frame: for inspection tools, not the data path). */
  async *frames(): AsyncGenerator<CaptureFrame> {
    let index = 0;
    for await (const b of this) {
      for (let i = 0; i < b.count; i++) {
        yield {
          index: index++,
          tsSec: b.tsSec[i],
          tsNsec: b.tsNsec[i],
          caplen: b.caplen[i],
          wireLen: b.wireLen[i],
          interfaceId: b.interfaceId[i],
          linkType: b.linkType[i],
          recordOffset: b.recordOffset[i],
          comment: b.comments[i],
          flags: b.flags[i],
          data: b.data(i),
        };
      }
    }
  }
}

/** Opens a capture for streaming; the header is decoded before this resolves (damage there surfaces on first read). */
export async function openCapture(path: string, options: OpenCaptureOptions = {}): Promise<CaptureStream> {
  const stream = new CaptureStream(path, options);
  try {
    return await stream.open();
  } catch (e) {
    await stream.close();
    throw e;
  }
}
