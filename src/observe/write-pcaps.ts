import { join } from 'node:path';
import { PcapngWriter } from '../capture/index.js';
import { makeDir, outputFileProblem } from '../util/output-path.js';
import type { DeviceTable } from '../dataplane/devices.js';
import type { Cluster } from '../scenario/model.js';
import type { CapturedFrame, DeviceCapture } from './device-capture.js';

/**
 * Writes one pcapng per node (`<dir>/<node>.pcapng`) with one interface per device on it, named
 * as traces name them (`default/pod-a eth0`, `node-1 cali…`, `node-1 flannel.1`, `node-1 eth0`),
 * each frame as captured there with its stage and verdict as the packet comment. A device's frame
 * that was both sent and received on a veth pair appears once per end, as tcpdump shows it.
 *
 * Frames are written as the replay goes, a batch at a time (NodePcaps.write after each vector), so
 * memory stays bounded whatever the capture's size; a batch is sorted by timestamp first: the engine
 * observes a vector stage by stage, so a later packet's first hop can be seen before an earlier
 * packet's last one (a reply in the same vector as its request), and a capture file is read as a
 * timeline. The sort is stable: one packet's hops, which share its timestamp, keep the order it took
 * them. Across batches the input capture's order is kept (as tcpdump writes in arrival order). Each
 * file interleaves every device of its node, as `tcpdump -i any` would; filter one device with
 * `frame.interface_name`.
 */
export class NodePcaps {
  private readonly writers: { path: string; w: PcapngWriter; ifOf: Map<number, number> }[] = [];
  /**
   * Hop frames left out because their time is before 1970 (a capture whose if_tsoffset is negative):
   * an Enhanced Packet Block's timestamp is unsigned. Counted and reported, never written with a wrapped time.
   */
  before1970 = 0;

  constructor(dir: string, cluster: Cluster, devices: DeviceTable, userAppl: string) {
    makeDir(dir);
    for (const node of cluster.nodes) {
      const path = nodePcapPath(dir, node);
      const w = PcapngWriter.toFile(path, { userAppl });
      const ifOf = new Map<number, number>();
      for (const d of devices.ofNode(node.index)) ifOf.set(d.id, w.addInterface({ linkType: 1, name: d.label, snaplen: 262144 }));
      this.writers.push({ path, w, ifOf });
    }
  }

  /** Writes a batch of captured frames (complete: their packets have ended), in timestamp order. */
  write(frames: readonly CapturedFrame[]): void {
    const inTime = [...frames].filter((f) => f.tsSec >= 0).sort((a, b) => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec);
    this.before1970 += frames.length - inTime.length;
    for (const { w, ifOf } of this.writers) {
      for (const f of inTime) {
        const id = ifOf.get(f.device);
        if (id !== undefined) w.writePacket(id, f.bytes, f.tsSec, f.tsNsec, f.wireLen, f.comment);
      }
    }
  }

  /** Closes every file; returns their paths. */
  async close(): Promise<string[]> {
    for (const { w } of this.writers) await w.close();
    return this.writers.map((x) => x.path);
  }
}

/** The file writeNodePcaps writes for each node. */
export function nodePcapPath(dir: string, node: { name: string }): string {
  return join(dir, `${node.name}.pcapng`);
}

/** Why one of the node files could not be written (a directory or a read-only file in its place), else undefined. */
export function nodePcapsProblem(dir: string, cluster: Cluster): string | undefined {
  for (const node of cluster.nodes) {
    const problem = outputFileProblem(nodePcapPath(dir, node));
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Every frame a capture holds, written at once (NodePcaps for the streaming form). */
export async function writeNodePcaps(dir: string, cluster: Cluster, devices: DeviceTable, capture: DeviceCapture, userAppl: string): Promise<string[]> {
  const out = new NodePcaps(dir, cluster, devices, userAppl);
  out.write(capture.frames);
  return out.close();
}
