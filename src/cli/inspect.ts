/**
 * `dpemu inspect <file> [--json] [--count N]`: a capinfos-like summary, then one line per frame (tcpdump -n style)
 * or one JSON object per frame. Two streaming passes (summary, then frames) so memory stays bounded on huge files
 * and the summary can come first.
 */
import { stat } from 'node:fs/promises';
import { CaptureFileError } from '../capture/errors.js';
import { openCapture, type CaptureStream } from '../capture/stream-reader.js';
import { parsePacket } from '../packet/parse.js';
import { PacketView } from '../packet/view.js';
import { frameJson } from './inspect-json.js';
import { frameLine } from './inspect-line.js';
import { formatSummary, fractionDigits, SummaryAccumulator } from './inspect-summary.js';
import type { Io } from './io.js';

export interface InspectOptions {
  readonly json: boolean;
  /** Stop after this many frames (the summary still covers the whole file). */
  readonly count?: number;
}

/** Opens the capture; a problem here (missing file, not a capture) is bad input: message and exit 2. */
async function open(file: string, io: Io): Promise<CaptureStream | number> {
  try {
    return await openCapture(file);
  } catch (e) {
    if (e instanceof CaptureFileError) {
      const what = e.code === 'FILE_NOT_FOUND' ? 'no such file: ' : e.code === 'UNKNOWN_FORMAT' ? 'unknown format (not pcap or pcapng): ' : '';
      io.err(`dpemu inspect: ${what}${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function summarize(file: string, io: Io): Promise<{ text: string; error: CaptureFileError | undefined } | number> {
  const s = await open(file, io);
  if (typeof s === 'number') return s;
  const acc = new SummaryAccumulator();
  let error: CaptureFileError | undefined;
  try {
    for await (const b of s) {
      for (let i = 0; i < b.count; i++) acc.add(b.tsSec[i], b.tsNsec[i], b.caplen[i], b.wireLen[i], b.interfaceId[i], b.linkType[i], b.untimed[i] === 0);
    }
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    error = e;
  }
  const fileSize = (await stat(file)).size;
  const text = formatSummary({ file, fileSize, header: s.header, interfaces: s.interfaces, acc, error });
  return { text, error };
}

export async function inspectCommand(file: string, o: InspectOptions, io: Io): Promise<number> {
  const limit = o.count ?? Infinity;
  if (o.count !== undefined && (!Number.isInteger(o.count) || o.count < 0)) {
    io.err(`dpemu inspect: --count must be a non-negative integer, got ${String(o.count)}\n`);
    return 2;
  }
  const summary = await summarize(file, io);
  if (typeof summary === 'number') return summary;
  if (o.json) io.err(summary.text);
  else io.out(summary.text);

  const s = await open(file, io);
  if (typeof s === 'number') return s;
  // Looked up per frame, not mapped once here: pcapng IDBs may follow the first packet (a later section, an
  // interface added mid-capture), and `s.interfaces` grows as they are read.
  const interfaces = s.interfaces;
  const pcapng = s.format === 'pcapng';
  const view = new PacketView();
  let n = 0;
  try {
    outer: for await (const b of s) {
      for (let i = 0; i < b.count; i++) {
        if (n >= limit) break outer;
        n++;
        parsePacket(view, b.buf, b.offset[i], b.caplen[i], b.wireLen[i], b.linkType[i]);
        const ifc = b.interfaceId[i];
        const timed = b.untimed[i] === 0;
        if (o.json) {
          io.out(frameJson({ number: n, sec: b.tsSec[i], nsec: b.tsNsec[i], timed, interfaceId: pcapng ? ifc : undefined, comments: b.comments[i] }, view) + '\n');
        } else {
          // tcpdump (libpcap) prints an untimed frame at 00:00:00: so does this line; JSON leaves the time out, as tshark.
          io.out(frameLine(n, timed ? b.tsSec[i] : 0, timed ? b.tsNsec[i] : 0, fractionDigits(interfaces[ifc]), view) + '\n');
        }
      }
    }
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    io.err(`dpemu inspect: ${e.message}\n`);
    return 1;
  } finally {
    await s.close();
  }
  if (summary.error !== undefined) {
    // --count stopped before the damage; the file is still corrupt, so say so and fail.
    io.err(`dpemu inspect: ${summary.error.message}\n`);
    return 1;
  }
  return 0;
}
