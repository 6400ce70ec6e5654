import { join } from 'node:path';
import { PcapngWriter } from '../capture/index.js';
import { makeDir, outputFileProblem } from '../util/output-path.js';
import type { DeviceTable } from '../dataplane/devices.js';
import type { Cluster } from '../scenario/model.js';
import type { DeviceCapture } from './device-capture.js';

/**
 * Writes one pcapng per node (`<dir>/<node>.pcapng`) with one interface per device on it, named
 * as traces name them (`default/pod-a eth0`, `node-1 cali…`, `node-1 flannel.1`, `node-1 eth0`),
 * each frame as captured there with its stage and verdict as the packet comment. A device's frame
 * that was both sent and received on a veth pair appears once per end, as tcpdump shows it.
 *
 * Frames are written in timestamp order. The engine observes them vector by vector, so a later
 * packet's first hop can be seen before an earlier packet's last one (a reply in the same vector as
 * its request); a capture file is read as a timeline. The sort is stable: one packet's hops, which
 * share its timestamp, keep the order it took them. Each file interleaves every device of its node,
 * as `tcpdump -i any` would; filter one device with `frame.interface_name`.
 */
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

export async function writeNodePcaps(dir: string, cluster: Cluster, devices: DeviceTable, capture: DeviceCapture, userAppl: string): Promise<string[]> {
  makeDir(dir);
  const files: string[] = [];
  const inTime = [...capture.frames].sort((a, b) => a.tsSec - b.tsSec || a.tsNsec - b.tsNsec);
  for (const node of cluster.nodes) {
    const path = nodePcapPath(dir, node);
    const w = PcapngWriter.toFile(path, { userAppl });
    const ifOf = new Map<number, number>();
    for (const d of devices.ofNode(node.index)) ifOf.set(d.id, w.addInterface({ linkType: 1, name: d.label, snaplen: 262144 }));
    for (const f of inTime) {
      const id = ifOf.get(f.device);
      if (id === undefined) continue;
      w.writePacket(id, f.bytes, f.tsSec, f.tsNsec, f.wireLen, f.comment);
    }
    await w.close();
    files.push(path);
  }
  return files;
}
