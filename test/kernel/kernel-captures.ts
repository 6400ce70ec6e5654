import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader, FrameBatch, PcapWriter } from '../../src/capture/index.js';
import { packageRoot } from '../../src/scenario/index.js';

/** Kernel ground truth of scenario pod-to-pod (pcaps/README.md): one pcap per observation point. */
export const KERNEL_DIR = join(packageRoot(), 'pcaps/kernel/pod-to-pod');

export interface ManifestFile {
  readonly file: string;
  readonly node: string;
  readonly pod: string | null;
  readonly interface: string;
  readonly observation_point: 'pod-eth0' | 'host-veth' | 'vxlan-device' | 'underlay';
}

export interface Manifest {
  readonly files: readonly ManifestFile[];
  readonly topology: {
    readonly pods: ReadonlyArray<{ readonly name: string; readonly namespace: string; readonly node: string; readonly mac: string }>;
  };
}

export function readManifest(): Manifest {
  return JSON.parse(readFileSync(join(KERNEL_DIR, 'manifest.json'), 'utf8')) as Manifest;
}

/** One captured frame, copied out of the reader's batch. Time in integer nanoseconds since the epoch. */
export interface KFrame {
  readonly ts: bigint;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  readonly wireLen: number;
  /** Where it came from, for failure messages: `pod-a.eth0.pcap#20`. */
  readonly where: string;
}

/** Every frame of a pcap/pcapng file, in file order, read with src/capture. */
export function readFrames(path: string, label = path): KFrame[] {
  const reader = CaptureReader.fromBuffer(readFileSync(path), path);
  const batch = new FrameBatch(256);
  const out: KFrame[] = [];
  for (let n = reader.next(batch); n > 0; n = reader.next(batch)) {
    for (let i = 0; i < n; i++) {
      const off = batch.offset[i];
      const tsSec = batch.tsSec[i];
      const tsNsec = batch.tsNsec[i];
      out.push({
        ts: BigInt(tsSec) * 1_000_000_000n + BigInt(tsNsec),
        tsSec,
        tsNsec,
        bytes: batch.buf.slice(off, off + batch.caplen[i]),
        wireLen: batch.wireLen[i],
        where: `${label}#${out.length + 1}`,
      });
    }
  }
  return out;
}

export function macOf(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

function srcMacIs(f: Uint8Array, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (f[6 + i] !== mac[i]) return false;
  return true;
}

/**
 * The frames every pod SENT (source MAC = the pod's MAC in its own eth0 capture), merged across pods
 * in timestamp order, so requests and replies interleave as they did on the test bed. Ties keep
 * the manifest's pod order (stable sort); the captures have microsecond stamps and none tie.
 */
export function podSentFrames(m: Manifest): KFrame[] {
  const all: KFrame[] = [];
  for (const f of m.files) {
    if (f.observation_point !== 'pod-eth0' || !f.pod) continue;
    const pod = m.topology.pods.find((p) => p.name === f.pod);
    if (!pod) throw new Error(`manifest: ${f.file} names unknown pod ${f.pod}`);
    const mac = macOf(pod.mac);
    all.push(...readFrames(join(KERNEL_DIR, f.file), f.file).filter((k) => srcMacIs(k.bytes, mac)));
  }
  return all.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

/** A classic pcap (ns stamps) of `frames`, for replay(). */
export async function writePcap(path: string, frames: readonly KFrame[]): Promise<void> {
  const w = PcapWriter.toFile(path, { linkType: 1, nanosecond: true });
  for (const f of frames) w.writePacket(f.bytes, f.tsSec, f.tsNsec, f.wireLen);
  await w.close();
}
