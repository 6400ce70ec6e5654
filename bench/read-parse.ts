/**
 * Read + parse throughput (not a test: numbers depend on the machine).
 * Run: npx vite-node bench/read-parse.ts [--frames N] [--json out.json] [--chunk-mib M] [--only mode,mode]
 *
 * On the same seeded 1,000,000-frame ~750-byte Ethernet/IPv4/TCP pcap (bench/gen-capture.ts, cached in /tmp),
 * every mode reads the file from the page cache and decodes each frame to the same fields (EtherType, IPv4
 * src/dst, IP protocol, TCP ports), folded into a checksum that must agree across modes:
 *   - dpemu-sync:   CaptureFileReader (fs.readSync, 4 MiB chunks by default, bounded memory) + parsePacket per frame;
 *   - dpemu-stream: openCapture (async fs.read, 4 MiB chunks) + parsePacket per frame;
 *   - pcap-parser / pcap-parser-4m: the npm package on the file path (its default 64 KiB read stream) and on a
 *     4 MiB read stream, decoding each packet's Buffer with readUInt16BE/readUInt32BE as a typical user would;
 *   - hand-loop (reference): a minimal typed-array loop (fs.readSync chunks, record walk, fixed-offset
 *     Eth/IPv4/TCP reads, no validation): roughly the ceiling for JS on this file;
 *   - dpemu-inmem (reference, unbounded): readFileSync of the whole file + CaptureReader.fromBuffer.
 * Each mode runs in its own child process (clean JIT feedback, and its own peak RSS): 2 warm-up passes, then
 * 3 timed passes; the median is reported.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, createReadStream, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CaptureFileReader, CaptureReader, FrameBatch, openCapture } from '../src/capture/index.js';
import { parsePacket as parsePacketImport } from '../src/packet/parse.js';
import { PacketView } from '../src/packet/view.js';
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
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const FRAMES = Number(arg('--frames') ?? 1_000_000);
const CHUNK = Math.round(Number(arg('--chunk-mib') ?? 4) * 1024 * 1024);
const CHUNK_LABEL = CHUNK >= 1048576 ? `${CHUNK / 1048576} MiB` : `${CHUNK / 1024} KiB`;
const ROUNDS = 3;
/**
 * vite-node turns every read of an imported binding into a getter call; a local copy makes the per-frame call
 * what it is in compiled code (dist/ under plain node), so the harness does not tax dpemu.
 */
const parsePacket = parsePacketImport;
const WARMUP = 2;

/** What one pass returns: frames seen and a checksum of the decoded fields (must match across modes). */
interface Pass {
  frames: number;
  check: number;
}

/** The same per-frame fold for every mode, so no mode can skip decoding a field. */
function fold(check: number, etherType: number, src: number, dst: number, proto: number, sport: number, dport: number): number {
  return (check + etherType + proto + ((src ^ dst) >>> 0) + ((sport << 16) | dport)) % 0x7fffffff;
}

// ---- dpemu ----

function dpemuSync(path: string): Pass {
  const r = CaptureFileReader.open(path, { chunkSize: CHUNK, batchSize: 1024 });
  const b = r.batch;
  const v = new PacketView();
  const L = v.layers[0];
  let frames = 0;
  let check = 0;
  for (let n = r.next(b); n > 0; n = r.next(b)) {
    frames += n;
    const buf = b.buf;
    for (let i = 0; i < n; i++) {
      parsePacket(v, buf, b.offset[i], b.caplen[i], b.wireLen[i], b.linkType[i]);
      check = fold(check, L.etherType, L.src4, L.dst4, L.ipProto, L.srcPort, L.dstPort);
    }
  }
  r.close();
  return { frames, check };
}

function dpemuInMemory(path: string): Pass {
  const bytes = readFileSync(path);
  const r = CaptureReader.fromBuffer(bytes, path);
  const b = new FrameBatch(1024);
  const v = new PacketView();
  const L = v.layers[0];
  let frames = 0;
  let check = 0;
  for (let n = r.next(b); n > 0; n = r.next(b)) {
    frames += n;
    const buf = b.buf;
    for (let i = 0; i < n; i++) {
      parsePacket(v, buf, b.offset[i], b.caplen[i], b.wireLen[i], b.linkType[i]);
      check = fold(check, L.etherType, L.src4, L.dst4, L.ipProto, L.srcPort, L.dstPort);
    }
  }
  return { frames, check };
}

async function dpemuStream(path: string): Promise<Pass> {
  const cap = await openCapture(path, { chunkSize: CHUNK, batchSize: 1024 });
  const v = new PacketView();
  const L = v.layers[0];
  let frames = 0;
  let check = 0;
  for await (const b of cap) {
    const n = b.count;
    frames += n;
    const buf = b.buf;
    for (let i = 0; i < n; i++) {
      parsePacket(v, buf, b.offset[i], b.caplen[i], b.wireLen[i], b.linkType[i]);
      check = fold(check, L.etherType, L.src4, L.dst4, L.ipProto, L.srcPort, L.dstPort);
    }
  }
  return { frames, check };
}

// ---- pcap-parser, decoding the way a typical user would (Buffer reads, checks for IPv4 and TCP) ----

function pcapParserRun(path: string, highWaterMark: number | undefined): Promise<Pass> {
  return new Promise((resolve, reject) => {
    let frames = 0;
    let check = 0;
    const input = highWaterMark === undefined ? path : createReadStream(path, { highWaterMark });
    pcapParser
      .parse(input)
      .on('packet', (p) => {
        frames++;
        const d = p.data;
        if (d.length < 14) return;
        const etherType = d.readUInt16BE(12);
        let src = 0, dst = 0, proto = 0, sport = 0, dport = 0;
        if (etherType === 0x0800 && d.length >= 34) {
          const ihl = (d[14] & 15) * 4;
          proto = d[23];
          src = d.readUInt32BE(26);
          dst = d.readUInt32BE(30);
          const l4 = 14 + ihl;
          if (proto === 6 && d.length >= l4 + 20) {
            sport = d.readUInt16BE(l4);
            dport = d.readUInt16BE(l4 + 2);
          }
        }
        check = fold(check, etherType, src, dst, proto, sport, dport);
      })
      .on('error', reject)
      .on('end', () => resolve({ frames, check }));
  });
}

// ---- reference: the minimal careful typed-array loop (no validation beyond lengths) ----

function handLoop(path: string): Pass {
  const fd = openSync(path, 'r');
  const buf = new Uint8Array(CHUNK);
  let base = 24; // LE usec pcap assumed: this is a ceiling reference, not a reader
  let end = 0;
  let frames = 0;
  let check = 0;
  for (;;) {
    const got = readSync(fd, buf, end, buf.length - end, base + end);
    end += got;
    let p = 0;
    for (;;) {
      if (end - p < 16) break;
      const caplen = (buf[p + 8] | (buf[p + 9] << 8) | (buf[p + 10] << 16) | (buf[p + 11] << 24)) >>> 0;
      if (end - p < 16 + caplen) break;
      const f = p + 16;
      frames++;
      const etherType = (buf[f + 12] << 8) | buf[f + 13];
      let src = 0, dst = 0, proto = 0, sport = 0, dport = 0;
      if (etherType === 0x0800 && caplen >= 34) {
        const ihl = (buf[f + 14] & 15) << 2;
        proto = buf[f + 23];
        src = ((buf[f + 26] << 24) | (buf[f + 27] << 16) | (buf[f + 28] << 8) | buf[f + 29]) >>> 0;
        dst = ((buf[f + 30] << 24) | (buf[f + 31] << 16) | (buf[f + 32] << 8) | buf[f + 33]) >>> 0;
        const l4 = f + 14 + ihl;
        if (proto === 6 && caplen >= 14 + ihl + 20) {
          sport = (buf[l4] << 8) | buf[l4 + 1];
          dport = (buf[l4 + 2] << 8) | buf[l4 + 3];
        }
      }
      check = fold(check, etherType, src, dst, proto, sport, dport);
      p = f + caplen;
    }
    if (got === 0) break;
    buf.copyWithin(0, p, end);
    base += p;
    end -= p;
  }
  closeSync(fd);
  return { frames, check };
}

// ---- driver ----

const MODES = {
  'dpemu-sync': { label: `dpemu CaptureFileReader sync (${CHUNK_LABEL})`, run: dpemuSync },
  'dpemu-stream': { label: `dpemu openCapture async stream (${CHUNK_LABEL})`, run: dpemuStream },
  'pcap-parser': { label: 'pcap-parser (file path, 64 KiB stream)', run: (p: string) => pcapParserRun(p, undefined) },
  'pcap-parser-4m': { label: 'pcap-parser (4 MiB read stream)', run: (p: string) => pcapParserRun(p, 4 * 1024 * 1024) },
  'hand-loop': { label: 'reference: minimal typed-array loop', run: handLoop },
  'dpemu-inmem': { label: 'reference: dpemu in-memory (readFileSync)', run: dpemuInMemory },
} as const;
type Mode = keyof typeof MODES;

interface ModeResult {
  mode: Mode;
  label: string;
  frames: number;
  check: number;
  runsMs: number[];
  medianMs: number;
  framesPerSec: number;
  nsPerFrame: number;
  /** Process CPU time (user + system, all threads) per pass: steadier than wall time on a shared machine. */
  cpuMedianMs: number;
  cpuFramesPerSec: number;
  peakRssMiB: number;
}

async function child(mode: Mode, path: string): Promise<void> {
  const run = MODES[mode].run;
  let warm = await run(path); // warm-up: JIT tiers, page cache
  for (let w = 1; w < WARMUP; w++) warm = await run(path);
  const runsMs: number[] = [];
  const cpuRunsMs: number[] = [];
  let last = warm;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    last = await run(path);
    runsMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpuRunsMs.push((c.user + c.system) / 1000);
    if (last.frames !== warm.frames || last.check !== warm.check) throw new Error(`${mode}: passes disagree`);
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  const medianMs = sorted[sorted.length >> 1];
  const cpuMedianMs = [...cpuRunsMs].sort((a, b) => a - b)[cpuRunsMs.length >> 1];
  const result: ModeResult = {
    mode,
    label: MODES[mode].label,
    frames: last.frames,
    check: last.check,
    runsMs: runsMs.map((x) => Math.round(x)),
    medianMs: Math.round(medianMs),
    framesPerSec: Math.round(last.frames / (medianMs / 1000)),
    nsPerFrame: Math.round((medianMs * 1e6) / last.frames),
    cpuMedianMs: Math.round(cpuMedianMs),
    cpuFramesPerSec: Math.round(last.frames / (cpuMedianMs / 1000)),
    // maxRSS is in KiB: the process peak, which is why each mode has its own process.
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runChild(mode: Mode, path: string): ModeResult {
  const script = fileURLToPath(import.meta.url);
  const res = spawnSync(process.execPath, [argv[1], script, '--child', mode, '--path', path, '--frames', String(FRAMES), '--chunk-mib', String(CHUNK / 1048576)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (res.status !== 0 || line === undefined) throw new Error(`${mode} failed (status ${res.status}):\n${res.stdout}\n${res.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as ModeResult;
}

async function main(): Promise<void> {
  const childMode = arg('--child');
  if (childMode !== undefined) {
    if (!(childMode in MODES)) throw new Error(`unknown mode ${childMode}`);
    await child(childMode as Mode, arg('--path') as string);
    return;
  }
  const t0 = performance.now();
  const gen = generateCapture(FRAMES);
  console.log(`${gen.reused ? 'reusing' : 'generated'} ${gen.path} (${gen.frames} frames, ${(gen.bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const only = arg('--only')?.split(',') as Mode[] | undefined;
  const modes = (only ?? (Object.keys(MODES) as Mode[]));
  const cpu = cpus();
  console.log(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? '?'}), dpemu chunk ${CHUNK_LABEL}; each mode in its own process: ${WARMUP} warm-up + ${ROUNDS} passes, median`);
  const results: ModeResult[] = [];
  for (const m of modes) {
    const r = runChild(m, gen.path);
    results.push(r);
    console.log(`${r.label.padEnd(46)} ${(r.framesPerSec / 1e6).toFixed(2).padStart(6)} M frames/s  ${String(r.nsPerFrame).padStart(5)} ns/frame  median ${String(r.medianMs).padStart(5)} ms [${r.runsMs.join(', ')}]  cpu ${(r.cpuFramesPerSec / 1e6).toFixed(2)} M/s  peak RSS ${String(r.peakRssMiB).padStart(4)} MiB`);
  }
  for (const r of results) {
    if (r.frames !== FRAMES) throw new Error(`${r.mode} read ${r.frames} frames, expected ${FRAMES}`);
    if (r.check !== results[0].check) throw new Error(`${r.mode} checksum ${r.check} != ${results[0].mode} ${results[0].check}: decoders disagree`);
  }
  const by = (m: Mode): ModeResult | undefined => results.find((r) => r.mode === m);
  const bestPp = [by('pcap-parser'), by('pcap-parser-4m')].filter((r): r is ModeResult => r !== undefined).sort((a, b) => b.framesPerSec - a.framesPerSec)[0];
  const ratios: Record<string, number> = {};
  if (bestPp !== undefined) {
    for (const m of ['dpemu-sync', 'dpemu-stream'] as const) {
      const r = by(m);
      if (r === undefined) continue;
      ratios[`${m}/best-pcap-parser`] = Number((r.framesPerSec / bestPp.framesPerSec).toFixed(2));
      const def = by('pcap-parser');
      if (def !== undefined) ratios[`${m}/pcap-parser-default`] = Number((r.framesPerSec / def.framesPerSec).toFixed(2));
    }
  }
  for (const [k, v] of Object.entries(ratios)) console.log(`ratio ${k.padEnd(36)} ${v.toFixed(2)}x`);
  console.log(`checksums agree across modes (${results[0]?.check})`);
  const jsonPath = arg('--json');
  if (jsonPath !== undefined) {
    const out = {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpu[0]?.model,
      cores: cpu.length,
      file: { path: gen.path, frames: gen.frames, bytes: gen.bytes },
      chunkBytes: CHUNK,
      rounds: ROUNDS,
      results,
      ratios,
    };
    writeFileSync(jsonPath, JSON.stringify(out, null, 2) + '\n');
    console.log(`wrote ${jsonPath}`);
  }
}

await main();
