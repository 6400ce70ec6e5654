import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapngWriter } from '../../src/capture/index.js';
import { packageRoot } from '../../src/scenario/index.js';
import { macOf, readFrames, type KFrame, type Manifest } from './kernel-captures.js';
import { isVxlan } from './frame-mask.js';

/** Kernel ground truth of scenario `service` (pcaps/README.md): pcaps, conntrack dumps, the scenario file. */
export const SERVICE_DIR = join(packageRoot(), 'pcaps/kernel/service');
export const SERVICE_SCENARIO = join(SERVICE_DIR, 'scenario.yaml');

export function readServiceManifest(): Manifest {
  return JSON.parse(readFileSync(join(SERVICE_DIR, 'manifest.json'), 'utf8')) as Manifest;
}

const srcMacIs = (f: Uint8Array, mac: Uint8Array): boolean => mac.every((b, i) => f[6 + i] === b);

/**
 * The frames the clients and servers SENT, merged in time order: every pod's own frames from its eth0
 * capture, plus the frames node-2's own stack sent on its eth0 (the NodePort client: source MAC
 * node-2's NIC and not a VXLAN packet, which node-2 only encapsulates on behalf of others).
 * Not input: anything a node's kernel generated (VXLAN, forwarded frames, ICMP errors, REJECT).
 */
/** A sent frame; `nodeStack`: written by a node's own stack (not by a pod). */
export type SentFrame = KFrame & { readonly nodeStack: boolean };

export function serviceSentFrames(m: Manifest, stackNodes: ReadonlyArray<{ name: string; mac: string }>, vxlanPort: number): SentFrame[] {
  const all: SentFrame[] = [];
  for (const f of m.files) {
    if (f.observation_point === 'pod-eth0' && f.pod) {
      const pod = m.topology.pods.find((p) => p.name === f.pod);
      if (!pod) throw new Error(`manifest: ${f.file} names unknown pod ${f.pod}`);
      const mac = macOf(pod.mac);
      all.push(...readFrames(join(SERVICE_DIR, f.file), f.file).filter((k) => srcMacIs(k.bytes, mac)).map((k) => ({ ...k, nodeStack: false })));
    }
    const stack = stackNodes.find((n) => n.name === f.node);
    if (f.observation_point === 'underlay' && stack) {
      const mac = macOf(stack.mac);
      all.push(...readFrames(join(SERVICE_DIR, f.file), f.file).filter((k) => srcMacIs(k.bytes, mac) && !isVxlan(k.bytes, vxlanPort)).map((k) => ({ ...k, nodeStack: true })));
    }
  }
  return all.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

/** `node-N.conntrack.txt` without the conntrack-tools summary line. */
export function kernelConntrack(node: string): string[] {
  return readFileSync(join(SERVICE_DIR, `${node}.conntrack.txt`), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('conntrack v'));
}

/** Wall clock (seconds since the epoch) at which the script ran the conntrack dumps. */
export function conntrackDumpTime(): number {
  return Number(readFileSync(join(SERVICE_DIR, 'conntrack-time.txt'), 'utf8').trim());
}

/**
 * The replay input as pcapng: pods' frames on an Ethernet interface (attached at the pod by source
 * MAC), node stack frames as raw IPv4 (LINKTYPE_RAW, 101) on a second interface. Without an Ethernet
 * header dpemu attaches them by source IP to the node's own stack (LOCAL_OUT: routed, OUTPUT and
 * POSTROUTING hooks, conntrack), which is where the kernel's socket sent them. With their captured
 * Ethernet header (source = node-2's NIC MAC) dpemu would put them straight on the wire and node-2
 * would never track its own connection (frame-input.ts: a frame from a node NIC MAC is "sent by the NIC").
 */
export async function writeReplayInput(path: string, frames: readonly SentFrame[]): Promise<void> {
  const w = PcapngWriter.toFile(path);
  const eth = w.addInterface({ linkType: 1, nanosecond: true });
  const raw = w.addInterface({ linkType: 101, nanosecond: true });
  for (const f of frames) {
    if (f.nodeStack) w.writePacket(raw, f.bytes.subarray(14), f.tsSec, f.tsNsec, f.wireLen - 14);
    else w.writePacket(eth, f.bytes, f.tsSec, f.tsNsec, f.wireLen);
  }
  await w.close();
}
