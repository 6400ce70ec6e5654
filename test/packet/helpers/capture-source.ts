/**
 * Frames from src/capture's CaptureReader (the project reader), shaped like the mini reader's output.
 * tshark 4.0 counts pcapng Custom Blocks as frames and CaptureReader (rightly) does not, so their rows are
 * spliced in at the positions the mini reader's block scan finds them.
 */
import { CaptureFileError, CaptureReader, FrameBatch } from '../../../src/capture/index.js';
import { readCapture, type MiniFrame } from './mini-capture.js';

export function readWithCaptureReader(bytes: Uint8Array, name: string): MiniFrame[] {
  const real: MiniFrame[] = [];
  const batch = new FrameBatch(256);
  try {
    const reader = CaptureReader.fromBuffer(bytes, name);
    for (let n = reader.next(batch); n > 0; n = reader.next(batch)) {
      for (let i = 0; i < n; i++) {
        real.push({
          data: batch.data(i).slice(), caplen: batch.caplen[i], wireLen: batch.wireLen[i], linkType: batch.linkType[i], custom: false,
        });
      }
    }
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e; // damaged file: keep the frames before the damage
  }
  const mini = readCapture(bytes);
  if (!mini.some((f) => f.custom)) return real;
  const out: MiniFrame[] = [];
  let k = 0;
  for (const f of mini) {
    if (f.custom) out.push(f);
    else if (k < real.length) out.push(real[k++]);
  }
  while (k < real.length) out.push(real[k++]);
  return out;
}
