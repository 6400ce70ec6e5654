import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PcapngWriter } from '../capture/index.js';
import type { DeviceTable } from '../dataplane/devices.js';
import type { Cluster } from '../scenario/model.js';
import type { DeviceCapture } from './device-capture.js';

/**
 * Writes one pcapng per node (`<dir>/<node>.pcapng`) with one interface per device on it, named
 * as traces name them (`default/pod-a eth0`, `node-1 cali…`, `node-1 flannel.1`, `node-1 eth0`),
 * each frame as captured there with its stage and verdict as the packet comment. A device's frame
 * that was both sent and received on a veth pair appears once per end, as tcpdump shows it.
 */
export async function writeNodePcaps(dir: string, cluster: Cluster, devices: DeviceTable, capture: DeviceCapture, userAppl: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const node of cluster.nodes) {
    const path = join(dir, `${node.name}.pcapng`);
    const w = PcapngWriter.toFile(path, { userAppl });
    const ifOf = new Map<number, number>();
    for (const d of devices.ofNode(node.index)) ifOf.set(d.id, w.addInterface({ linkType: 1, name: d.label, snaplen: 262144 }));
    for (const f of capture.frames) {
      const id = ifOf.get(f.device);
      if (id === undefined) continue;
      w.writePacket(id, f.bytes, f.tsSec, f.tsNsec, f.wireLen, f.comment);
    }
    await w.close();
    files.push(path);
  }
  return files;
}
