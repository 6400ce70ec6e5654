import type { Cluster, PodModel } from '../scenario/model.js';

/** What a device is in the modeled node (the observation points of a trace). */
export const DeviceKind = { POD_ETH0: 0, HOST_VETH: 1, VXLAN: 2, UNDERLAY: 3 } as const;
export type DeviceKindId = (typeof DeviceKind)[keyof typeof DeviceKind];
export const DEVICE_KIND_POINT = ['pod eth0', 'host veth', 'vxlan device', 'node underlay'] as const;

export interface Device {
  readonly id: number;
  readonly kind: DeviceKindId;
  /** Cluster node index the device lives on (a pod's eth0 lives on its node). */
  readonly node: number;
  /** Interface name as `ip link` shows it: eth0, cali…, flannel.1. */
  readonly name: string;
  /** Name used in traces and pcapng if_name: `default/pod-a eth0`, `node-1 cali…`. */
  readonly label: string;
  readonly mac: Uint8Array;
  readonly macText: string;
  readonly mtu: number;
  /** The other end of a veth pair, -1 otherwise. */
  peer: number;
  readonly pod: PodModel | null;
}

export function macBytes(text: string): Uint8Array {
  const parts = text.split(':');
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(parts[i], 16);
  return out;
}

export function sameMac(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return buf[off] === mac[0] && buf[off + 1] === mac[1] && buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] && buf[off + 4] === mac[4] && buf[off + 5] === mac[5];
}

/**
 * Every device of the cluster, numbered: per node its underlay NIC, its VXLAN device (when the
 * tunnel mode is vxlan), then per pod on the node the host-side veth and the pod's eth0.
 */
export class DeviceTable {
  readonly all: Device[] = [];
  readonly nicOf: number[] = [];
  readonly vxlanOf: number[] = [];
  readonly podEth0 = new Map<string, number>();
  readonly hostVethOfPod = new Map<string, number>();

  constructor(cluster: Cluster) {
    const add = (d: Omit<Device, 'id' | 'macText' | 'mac'> & { mac: string }): number => {
      const id = this.all.length;
      this.all.push({ ...d, id, mac: macBytes(d.mac), macText: d.mac });
      return id;
    };
    for (const node of cluster.nodes) {
      this.nicOf[node.index] = add({ kind: DeviceKind.UNDERLAY, node: node.index, name: node.nicName, label: `${node.name} ${node.nicName}`, mac: node.mac, mtu: node.mtu, peer: -1, pod: null });
      this.vxlanOf[node.index] =
        cluster.tunnel.mode === 'vxlan'
          ? add({ kind: DeviceKind.VXLAN, node: node.index, name: cluster.tunnel.deviceName, label: `${node.name} ${cluster.tunnel.deviceName}`, mac: node.vtepMac, mtu: Math.min(cluster.tunnel.mtu, node.mtu - 50), peer: -1, pod: null })
          : -1;
      for (const pod of cluster.pods.filter((p) => p.nodeName === node.name)) {
        const key = `${pod.namespace}/${pod.name}`;
        const host = add({ kind: DeviceKind.HOST_VETH, node: node.index, name: pod.hostVeth, label: `${node.name} ${pod.hostVeth}`, mac: pod.hostVethMac, mtu: node.mtu, peer: -1, pod });
        const eth0 = add({ kind: DeviceKind.POD_ETH0, node: node.index, name: 'eth0', label: `${key} eth0`, mac: pod.mac, mtu: node.mtu, peer: host, pod });
        this.all[host].peer = eth0;
        this.podEth0.set(key, eth0);
        this.hostVethOfPod.set(key, host);
      }
    }
  }

  get(id: number): Device {
    return this.all[id];
  }

  /** Devices of one node, in table order (pcapng interface order). */
  ofNode(node: number): Device[] {
    return this.all.filter((d) => d.node === node);
  }

  byMac(buf: Uint8Array, off: number): Device | undefined {
    return this.all.find((d) => sameMac(buf, off, d.mac) && d.kind !== DeviceKind.HOST_VETH);
  }
}
