import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSink, CaptureReader, FrameBatch, PcapngWriter } from '../capture/index.js';

interface ManifestPod {
  readonly name: string;
  readonly namespace: string;
  readonly mac: string;
}

interface Manifest {
  readonly files: ReadonlyArray<{ readonly file: string; readonly pod: string | null; readonly observation_point: string }>;
  readonly topology: { readonly pods: readonly ManifestPod[] };
}

interface Sent {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  readonly wireLen: number;
  readonly iface: number;
  readonly comment: string;
}

/**
 * The bundled default walk: every frame the pods SENT on the kernel test bed (source MAC = the
 * pod's own, read from each pod's eth0 capture), merged in time order, one pcapng interface per
 * pod named as dpemu names the device (`default/pod-a eth0`), so `dpemu replay` injects each frame
 * at its sender with the exact bytes the kernel saw leave the pod. Frames the pods received are
 * left out: they are what the replay must produce.
 */
export function buildWalkCapture(kernelDir: string): Buffer {
  const m = JSON.parse(readFileSync(join(kernelDir, 'manifest.json'), 'utf8')) as Manifest;
  const w = new PcapngWriter({ userAppl: 'dpemu walk-capture (frames sent by pods on the kernel test bed)' }, new BufferSink());
  const sent: Sent[] = [];
  for (const f of m.files) {
    if (f.observation_point !== 'pod-eth0' || !f.pod) continue;
    const pod = m.topology.pods.find((p) => p.name === f.pod);
    if (!pod) throw new Error(`manifest: ${f.file} names unknown pod ${f.pod}`);
    const iface = w.addInterface({ linkType: 1, name: `${pod.namespace}/${pod.name} eth0`, snaplen: 262144 });
    const mac = Uint8Array.from(pod.mac.split(':').map((h) => parseInt(h, 16)));
    const reader = CaptureReader.fromBuffer(readFileSync(join(kernelDir, f.file)), f.file);
    const batch = new FrameBatch(256);
    let n = 0;
    for (let c = reader.next(batch); c > 0; c = reader.next(batch)) {
      for (let i = 0; i < c; i++) {
        n++;
        const bytes = batch.data(i).slice();
        if (!mac.every((b, k) => bytes[6 + k] === b)) continue;
        sent.push({ tsSec: batch.tsSec[i], tsNsec: batch.tsNsec[i], bytes, wireLen: batch.wireLen[i], iface, comment: `sent by ${pod.namespace}/${pod.name} (kernel capture ${f.file} frame ${n})` });
      }
    }
  }
  sent.sort((a, b) => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec);
  for (const s of sent) w.writePacket(s.iface, s.bytes, s.tsSec, s.tsNsec, s.wireLen, s.comment);
  return w.toBuffer();
}
