/**
 * Deterministic (seeded) benchmark capture: N Ethernet/IPv4/TCP frames of ~750 bytes (700..800) in a classic
 * LE usec pcap, written to os.tmpdir() and reused when already there with the same size.
 * Headers are hand-built with correct lengths and IPv4/TCP checksums (independent of src/packet).
 * Used by bench/capture-read.ts (`npx vite-node bench/capture-read.ts --gen-only` just writes the file).
 */
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/capture/index.js';

export interface GeneratedCapture {
  path: string;
  frames: number;
  bytes: number;
  reused: boolean;
}

/** 32-bit xorshift: tiny, seeded, identical on every run. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

function checksumAdd(b: Uint8Array, start: number, end: number, sum: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  return sum;
}
function checksumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** Expected file size, so a cached file can be reused without rereading it. */
function fileSize(lengths: number[]): number {
  return 24 + lengths.reduce((a, l) => a + 16 + l, 0);
}

export function generateCapture(frames = 1_000_000, seed = 0x5eed): GeneratedCapture {
  const rnd = xorshift(seed);
  const lengths = Array.from({ length: frames }, () => 700 + (rnd() % 101));
  const path = join(tmpdir(), `dpemu-bench-${frames}-eth-ipv4-tcp-s${seed}.pcap`);
  const bytes = fileSize(lengths);
  if (existsSync(path) && statSync(path).size === bytes) return { path, frames, bytes, reused: true };

  const payloadPool = new Uint8Array(65536);
  for (let i = 0; i < payloadPool.length; i++) payloadPool[i] = rnd() & 0xff;
  const flows = Array.from({ length: 1024 }, () => ({ src: rnd(), dst: (10 << 24) | (rnd() & 0xffffff), sport: 1024 + (rnd() % 60000), dport: [443, 8443, 5201, 6443][rnd() % 4], seq: rnd(), ack: rnd() }));
  const w = PcapWriter.toFile(path, { linkType: 1, snaplen: 65535 });
  const frame = new Uint8Array(1600);
  const dv = new DataView(frame.buffer);
  let t = 1_700_000_000 * 1e6;
  let ipId = 0;
  for (let n = 0; n < frames; n++) {
    const len = lengths[n];
    const f = flows[rnd() & 1023];
    // Ethernet
    frame.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
    dv.setUint16(12, 0x0800);
    // IPv4, 20 bytes, DF, TTL 64, TCP
    const ip = 14;
    dv.setUint8(ip, 0x45);
    dv.setUint8(ip + 1, 0);
    dv.setUint16(ip + 2, len - 14);
    dv.setUint16(ip + 4, ipId++ & 0xffff);
    dv.setUint16(ip + 6, 0x4000);
    dv.setUint8(ip + 8, 64);
    dv.setUint8(ip + 9, 6);
    dv.setUint16(ip + 10, 0);
    dv.setUint32(ip + 12, f.src);
    dv.setUint32(ip + 16, f.dst);
    dv.setUint16(ip + 10, checksumFold(checksumAdd(frame, ip, ip + 20, 0)));
    // TCP, 20 bytes, PSH|ACK
    const tcp = 34;
    const segLen = len - tcp;
    dv.setUint16(tcp, f.sport);
    dv.setUint16(tcp + 2, f.dport);
    dv.setUint32(tcp + 4, f.seq);
    dv.setUint32(tcp + 8, f.ack);
    dv.setUint16(tcp + 12, (5 << 12) | 0x018);
    dv.setUint16(tcp + 14, 65535);
    dv.setUint32(tcp + 16, 0);
    const payloadLen = segLen - 20;
    const from = rnd() % (payloadPool.length - payloadLen);
    frame.set(payloadPool.subarray(from, from + payloadLen), tcp + 20);
    let sum = checksumAdd(frame, ip + 12, ip + 20, 0) + 6 + segLen;
    sum = checksumAdd(frame, tcp, len, sum);
    dv.setUint16(tcp + 16, checksumFold(sum));
    f.seq = (f.seq + payloadLen) >>> 0;
    t += 1 + (rnd() % 50);
    const sec = Math.floor(t / 1e6);
    w.writePacket(frame.subarray(0, len), sec, (t - sec * 1e6) * 1000);
  }
  void w.close();
  return { path, frames, bytes, reused: false };
}
