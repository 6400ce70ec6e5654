import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureFileError, CaptureReader, FrameBatch, openCapture } from '../../src/capture/index.js';

export const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');

export interface IndexRow {
  file: string;
  category: string;
  fileFormat: string;
  packets: number | undefined;
  readerError: string;
  headerNotes: string;
}

export function readIndex(): IndexRow[] {
  const lines = readFileSync(join(CORPUS, 'INDEX.tsv'), 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = lines[0].split('\t');
  const col = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`INDEX.tsv has no column ${name}`);
    return i;
  };
  const [f, c, ff, p, re, hn] = ['file', 'category', 'file_format', 'packets', 'reader_error', 'header_notes'].map(col);
  return lines.slice(1).map((l) => {
    const v = l.split('\t');
    return { file: v[f], category: v[c], fileFormat: v[ff], packets: v[p] === '' ? undefined : Number(v[p]), readerError: v[re] ?? '', headerNotes: v[hn] ?? '' };
  });
}

/** frame.len / frame.cap_len per row of `<file>.tshark.tsv`. */
export function readTsharkLengths(file: string): { len: number; capLen: number }[] {
  const lines = readFileSync(join(CORPUS, `${file}.tshark.tsv`), 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = lines[0].split('\t');
  const li = cols.indexOf('frame.len');
  const ci = cols.indexOf('frame.cap_len');
  return lines.slice(1).map((l) => {
    const v = l.split('\t');
    return { len: Number(v[li]), capLen: Number(v[ci]) };
  });
}

/** Everything observable about one frame, as a comparable record (copies the bytes). */
export interface FrameSnapshot {
  caplen: number;
  wireLen: number;
  tsSec: number;
  tsNsec: number;
  interfaceId: number;
  linkType: number;
  recordOffset: number;
  comments: readonly string[] | undefined;
  timed: boolean;
  flags: number;
  data: string;
}

export interface ReadResult {
  frames: FrameSnapshot[];
  error: CaptureFileError | undefined;
  format?: string;
}

function snapshot(b: FrameBatch, i: number): FrameSnapshot {
  return {
    caplen: b.caplen[i],
    wireLen: b.wireLen[i],
    tsSec: b.tsSec[i],
    tsNsec: b.tsNsec[i],
    interfaceId: b.interfaceId[i],
    linkType: b.linkType[i],
    recordOffset: b.recordOffset[i],
    comments: b.comments[i],
    timed: b.untimed[i] === 0,
    flags: b.flags[i],
    data: Buffer.from(b.data(i)).toString('hex'),
  };
}

/** Reads with the sync reader; any exception other than CaptureFileError is rethrown (the test then fails). */
export function readSync(bytes: Uint8Array, name: string, batchSize = 5): ReadResult {
  const frames: FrameSnapshot[] = [];
  const batch = new FrameBatch(batchSize);
  let format: string | undefined;
  try {
    const r = CaptureReader.fromBuffer(bytes, name);
    format = r.format;
    // A bound on iterations proves termination: each call must make progress or end.
    for (let guard = 0; guard < bytes.length + 10; guard++) {
      const n = r.next(batch);
      if (n === 0) return { frames, error: undefined, format };
      for (let i = 0; i < n; i++) frames.push(snapshot(batch, i));
    }
    throw new Error(`reader did not terminate on ${name}`);
  } catch (e) {
    if (e instanceof CaptureFileError) return { frames, error: e, format };
    throw e;
  }
}

export async function readAsync(path: string, opts: { batchSize?: number; chunkSize?: number } = {}): Promise<ReadResult> {
  const frames: FrameSnapshot[] = [];
  let format: string | undefined;
  try {
    const cap = await openCapture(path, opts);
    format = cap.format;
    for await (const b of cap) for (let i = 0; i < b.count; i++) frames.push(snapshot(b, i));
    return { frames, error: undefined, format };
  } catch (e) {
    if (e instanceof CaptureFileError) return { frames, error: e, format };
    throw e;
  }
}
