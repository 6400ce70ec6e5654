import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { RecordDecoder } from './decoder.js';
import { createDecoder } from './detect.js';
import { CaptureFileError } from './errors.js';
import { ChunkWindow, Step, captureHeaderInfo, openFailed } from './chunk-window.js';
import { FrameBatch } from './frame-batch.js';
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
  private readonly w: ChunkWindow;
  private finished = false;
  readonly batch: FrameBatch;

  constructor(readonly path: string, options: OpenCaptureOptions = {}) {
    this.w = new ChunkWindow(path, Math.max(16, options.chunkSize ?? DEFAULT_CHUNK));
    this.batch = new FrameBatch(options.batchSize ?? DEFAULT_BATCH);
  }

  /** Opens the file and decodes the header (pcapng: the blocks before the first packet). Idempotent. */
  async open(): Promise<this> {
    if (this.decoder !== undefined) return this;
    try {
      this.fh = await fsp.open(this.path, 'r');
    } catch (e) {
      throw openFailed(this.path, e);
    }
    const w = this.w;
    await this.readMore(4);
    this.decoder = createDecoder(w.buf.subarray(0, Math.min(4, w.end)), this.path);
    try {
      while (w.decodeHeaderStep(this.decoder)) await this.readMore(w.compact(this.decoder.needBytes));
    } catch (e) {
      if (!(e instanceof CaptureFileError)) throw e;
      w.pending = e;
    }
    return this;
  }

  /** Bytes held for reading: the chunk size, or the largest single record seen if that was bigger. */
  get bufferCapacity(): number {
    return this.w.buf.length;
  }

  get format(): CaptureFormat {
    return this.requireDecoder().format;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.requireDecoder().interfaces;
  }

  get header(): CaptureHeaderInfo {
    return captureHeaderInfo(this.requireDecoder());
  }

  private requireDecoder(): RecordDecoder {
    if (this.decoder === undefined) throw new Error('CaptureStream: call `await open()` first');
    return this.decoder;
  }

  /** Fills `batch` (default: the stream's own) with the next frames; 0 at end. Throws after good frames on damage. */
  async next(batch: FrameBatch = this.batch): Promise<number> {
    await this.open();
    const decoder = this.requireDecoder();
    const w = this.w;
    batch.reset();
    if (w.pending !== undefined) {
      const e = w.pending;
      w.pending = undefined;
      this.finished = true;
      await this.close();
      throw e;
    }
    if (this.finished) return 0;
    for (;;) {
      let step: number;
      try {
        step = w.decodeStep(decoder, batch);
      } catch (e) {
        this.finished = true;
        await this.close();
        throw e;
      }
      if (step === Step.RETURN) return batch.count;
      if (step === Step.END) {
        this.finished = true;
        await this.close();
        return 0;
      }
      await this.readMore(w.compact(decoder.needBytes));
    }
  }

  /** Reads until the window holds at least `want` bytes from its start, is full, or the file ends. */
  private async readMore(want: number): Promise<void> {
    const fh = this.fh;
    const w = this.w;
    if (fh === undefined) return;
    while (w.wants(want)) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(w.buf, w.end, w.readLength, w.readAt));
      } catch (e) {
        throw w.readFailed(e);
      }
      w.filled(n);
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
          comments: b.comments[i],
          flags: b.flags[i],
          timed: b.untimed[i] === 0,
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
