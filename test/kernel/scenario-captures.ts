import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapngWriter } from '../../src/capture/index.js';
import { packageRoot } from '../../src/scenario/index.js';
import { macOf, readFrames, type KFrame, type Manifest } from './kernel-captures.js';
import { isVxlan } from './frame-mask.js';

/**
 * Kernel ground truth of a kube-proxy scenario written by `capture-pod-to-pod.sh NAME` into
 * pcaps/kernel/NAME/ (pcaps/README.md): its scenario.yaml, pcaps, manifest, conntrack dumps.
 * `service` and `hairpin` are such scenarios.
 */
export const kernelScenarioDir = (name: string): string => join(packageRoot(), 'pcaps/kernel', name);

export function readScenarioManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

const srcMacIs = (f: Uint8Array, mac: Uint8Array): boolean => mac.every((b, i) => f[6 + i] === b);

/** A sent frame; `nodeStack`: written by a node's own stack (not by a pod). */
export type SentFrame = KFrame & { readonly nodeStack: boolean };

/**
 * The frames the clients and servers SENT, merged in time order: every pod's own frames from its eth0
 * capture, plus the frames the `stackNodes`' own stacks sent on their eth0 (a NodePort client: source
 * MAC the node's NIC and not a VXLAN packet, which the node only encapsulates on behalf of others).
 * Not input: anything a node's kernel generated (VXLAN, forwarded frames, ICMP errors, REJECT).
 */
export function sentFrames(dir: string, m: Manifest, stackNodes: ReadonlyArray<{ name: string; mac: string }>, vxlanPort: number): SentFrame[] {
  const all: SentFrame[] = [];
  for (const f of m.files) {
    if (f.observation_point === 'pod-eth0' && f.pod) {
      const pod = m.topology.pods.find((p) => p.name === f.pod);
      if (!pod) throw new Error(`manifest: ${f.file} names unknown pod ${f.pod}`);
      const mac = macOf(pod.mac);
      all.push(...readFrames(join(dir, f.file), f.file).filter((k) => srcMacIs(k.bytes, mac)).map((k) => ({ ...k, nodeStack: false })));
    }
    const stack = stackNodes.find((n) => n.name === f.node);
    if (f.observation_point === 'underlay' && stack) {
      const mac = macOf(stack.mac);
      all.push(...readFrames(join(dir, f.file), f.file).filter((k) => srcMacIs(k.bytes, mac) && !isVxlan(k.bytes, vxlanPort)).map((k) => ({ ...k, nodeStack: true })));
    }
  }
  return all.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

const dumpLines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('conntrack v'));

/** `node-N.conntrack.txt` (or `node-N.conntrack-extended.txt`) of `dir` without the conntrack-tools summary line. */
export function scenarioConntrack(dir: string, node: string, extended = false): string[] {
  return dumpLines(join(dir, `${node}.conntrack${extended ? '-extended' : ''}.txt`));
}

/** Wall clock (seconds since the epoch) at which the script ran `dir`'s conntrack dumps. */
export function scenarioDumpTime(dir: string): number {
  return Number(readFileSync(join(dir, 'conntrack-time.txt'), 'utf8').trim());
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
