/**
 * Capture read throughput (not a test: numbers depend on the machine).
 * Run: npx vite-node bench/capture-read.ts [--frames N] [--gen-only]
 *
 * Compares, on the same seeded 1,000,000-frame ~750-byte Ethernet/IPv4/TCP pcap:
 *   - dpemu CaptureReader (sync batch) over the file already in memory: record decoding only;
 *   - dpemu openCapture (async streaming, 4 MiB chunks) from the file;
 *   - the `pcap-parser` npm package fed the same in-memory bytes (4 MiB chunks), and reading the file itself.
 * Each dpemu loop touches caplen and the first frame byte of every frame, as a consumer would.
 * Expect streaming to beat the in-memory sync read on large files: each 4 MiB fs.read copy leaves the chunk in
 * cache, while the sync reader walks a 766 MB buffer touching one or two cache lines per 750-byte record.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { CaptureReader, FrameBatch, openCapture } from '../src/capture/index.js';
import { generateCapture } from './gen-capture.js';

interface PcapParserPacket {
  header: { capturedLength: number; originalLength: number; timestampSeconds: number; timestampMicroseconds: number };
  data: Buffer;
}
interface PcapParser {
  on(event: 'packet', cb: (p: PcapParserPacket) => void): PcapParser;
  on(event: 'end', cb: () => void): PcapParser;
  on(event: 'error', cb: (e: Error) => void): PcapParser;
}
const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(input: string | NodeJS.ReadableStream): PcapParser };

const argv = process.argv;
const framesArg = argv.indexOf('--frames');
const FRAMES = framesArg >= 0 ? Number(argv[framesArg + 1]) : 1_000_000;
const ROUNDS = 3;

function pcapParserRun(input: string | Uint8Array): Promise<{ frames: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    let frames = 0;
    let bytes = 0;
    const src =
      typeof input === 'string'
        ? input
        : Readable.from(
            (function* chunks() {
              const CH = 4 * 1024 * 1024;
              for (let o = 0; o < input.length; o += CH) yield Buffer.from(input.buffer, input.byteOffset + o, Math.min(CH, input.length - o));
            })(),
          );
    pcapParser
      .parse(src)
      .on('packet', (p) => {
        frames++;
        bytes += p.header.capturedLength + p.data.length * 0;
      })
      .on('error', reject)
      .on('end', () => resolve({ frames, bytes }));
  });
}

function dpemuSync(bytes: Uint8Array): { frames: number; bytes: number } {
  const reader = CaptureReader.fromBuffer(bytes, 'bench.pcap');
  const batch = new FrameBatch(1024);
  let frames = 0;
  let total = 0;
  for (let n = reader.next(batch); n > 0; n = reader.next(batch)) {
    frames += n;
    // Touch what a consumer would: lengths and the first byte (so the work cannot be skipped).
    for (let i = 0; i < n; i++) total += batch.caplen[i] + (batch.buf[batch.offset[i]] & 0);
  }
  return { frames, bytes: total };
}

async function dpemuStream(path: string): Promise<{ frames: number; bytes: number }> {
  const cap = await openCapture(path, { batchSize: 1024 });
  let frames = 0;
  let total = 0;
  for await (const b of cap) {
    frames += b.count;
    for (let i = 0; i < b.count; i++) total += b.caplen[i] + (b.buf[b.offset[i]] & 0);
  }
  return { frames, bytes: total };
}

async function measure(name: string, run: () => Promise<{ frames: number; bytes: number }> | { frames: number; bytes: number }): Promise<{ name: string; fps: number; frames: number }> {
  const times: number[] = [];
  let last = { frames: 0, bytes: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    last = await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const fps = last.frames / (median / 1000);
  console.log(`${name.padEnd(46)} ${String(last.frames).padStart(9)} frames  median ${median.toFixed(0).padStart(6)} ms  ${(fps / 1e6).toFixed(2).padStart(6)} M frames/s  ${((last.bytes / 1e9) / (median / 1000)).toFixed(2)} GB/s`);
  return { name, fps, frames: last.frames };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const gen = generateCapture(FRAMES);
  console.log(`${gen.reused ? 'reusing' : 'generated'} ${gen.path} (${gen.frames} frames, ${(gen.bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (argv.includes('--gen-only')) return;
  const bytes = readFileSync(gen.path);
  console.log(`node ${process.version}, ${ROUNDS} rounds each, median reported`);
  const a = await measure('dpemu CaptureReader sync batch (in memory)', () => dpemuSync(bytes));
  const b = await measure('pcap-parser (same bytes in memory, 4 MiB chunks)', () => pcapParserRun(bytes));
  const c = await measure('dpemu openCapture streaming (file, 4 MiB)', () => dpemuStream(gen.path));
  const d = await measure('pcap-parser (file path)', () => pcapParserRun(gen.path));
  for (const r of [a, b, c, d]) if (r.frames !== FRAMES) throw new Error(`${r.name} read ${r.frames} frames, expected ${FRAMES}`);
  console.log(`ratio in memory: dpemu sync / pcap-parser = ${(a.fps / b.fps).toFixed(1)}x`);
  console.log(`ratio from file: dpemu streaming / pcap-parser = ${(c.fps / d.fps).toFixed(1)}x`);
}

await main();
