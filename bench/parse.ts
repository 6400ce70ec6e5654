/**
 * Parse throughput: ~750-byte Eth/IPv4/TCP frames (seeded), packed in one buffer like a capture batch.
 * Run: npx vite-node bench/parse.ts   (not a test: numbers vary by machine)
 */
import { buildFrame } from '../src/packet/build.js';
import { parsePacket } from '../src/packet/parse.js';
import { PacketView } from '../src/packet/view.js';

const N = 4096;
let seed = 12345;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // deterministic LCG
  return seed >>> 8;
};
const ip = (): string => `10.${rnd() & 255}.${rnd() & 255}.${(rnd() % 254) + 1}`;

const frames: Uint8Array[] = [];
for (let i = 0; i < N; i++) {
  frames.push(buildFrame([
    { type: 'eth', src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
    { type: 'ipv4', src: ip(), dst: ip(), id: rnd() & 0xffff, df: true },
    { type: 'tcp', srcPort: 1024 + (rnd() % 60000), dstPort: 80, seq: rnd(), ack: rnd(), flags: 0x018, timestamp: [rnd(), rnd()] },
  ], new Uint8Array(750 - 14 - 20 - 32)));
}
const total = frames.reduce((a, f) => a + f.length, 0);
const buf = new Uint8Array(total);
const offset = new Int32Array(N);
const len = new Int32Array(N);
let o = 0;
for (let i = 0; i < N; i++) {
  buf.set(frames[i], o);
  offset[i] = o;
  len[i] = frames[i].length;
  o += frames[i].length;
}

const view = new PacketView();
let check = 0;
function round(): void {
  for (let i = 0; i < N; i++) {
    parsePacket(view, buf, offset[i], len[i], len[i], 1);
    check += view.layers[0].srcPort + view.error;
  }
}

for (let i = 0; i < 200; i++) round(); // warm up the JIT
const results: number[] = [];
for (let r = 0; r < 7; r++) {
  const rounds = 300;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) round();
  const ns = Number(process.hrtime.bigint() - t0);
  results.push((rounds * N) / (ns / 1e9));
}
results.sort((a, b) => a - b);
const med = results[results.length >> 1];
console.log(`frame size ${len[0]} B, ${N} distinct frames, node ${process.version}`);
console.log(`parsePacket: median ${(med / 1e6).toFixed(2)} M frames/s (${(1e9 / med).toFixed(1)} ns/frame), `
  + `min ${(results[0] / 1e6).toFixed(2)}, max ${(results[results.length - 1] / 1e6).toFixed(2)} M frames/s; `
  + `${((med * len[0] * 8) / 1e9).toFixed(1)} Gbit/s equivalent (checksum ${check})`);
