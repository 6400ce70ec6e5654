import { closeSync, openSync, writeSync } from 'node:fs';
import { CaptureFileError } from './errors.js';

/** Where writers put bytes. `write` copies, so callers may reuse their buffers. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
}

/** Collects everything in memory (tests, small captures). */
export class BufferSink implements ByteSink {
  private buf = new Uint8Array(64 * 1024);
  private len = 0;

  write(bytes: Uint8Array): void {
    const need = this.len + bytes.length;
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(bytes, this.len);
    this.len = need;
  }

  /** A copy of what was written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  async close(): Promise<void> {}
}

/** Writes to a file through a fixed buffer (one syscall per `bufferSize` bytes, bounded memory). */
export class FileSink implements ByteSink {
  private fd: number | undefined;
  private readonly buf: Uint8Array;
  private len = 0;

  constructor(readonly path: string, bufferSize = 1024 * 1024) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new CaptureFileError('WRITE_FAILED', path, 'file', 0, `cannot open for writing: ${(e as Error).message}`, 'check the directory exists and is writable', { cause: e });
    }
    this.buf = new Uint8Array(bufferSize);
  }

  write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`FileSink ${this.path}: write after close`);
    if (this.len + bytes.length > this.buf.length) this.flush();
    if (bytes.length >= this.buf.length) {
      this.writeAll(bytes);
      return;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  flush(): void {
    if (this.len > 0) this.writeAll(this.buf.subarray(0, this.len));
    this.len = 0;
  }

  private writeAll(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd as number, bytes, off, bytes.length - off);
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}
