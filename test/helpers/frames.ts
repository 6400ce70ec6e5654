/** Frame builders shared by the stage suites: pod-sent IPv4, ARP requests, VXLAN from a node. */
import { buildFrame, type LayerSpec } from '../../src/packet/build.js';
import { parseIpv4, parseMac } from '../../src/packet/format.js';
import type { Harness } from './dataplane-harness.js';

export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';

/** An IPv4 frame sent by a pod's eth0 to its gateway (the host veth), as a Calico pod sends every frame. */
export function podFrame(h: Harness, from: string, dst: string, l4: LayerSpec[], payload?: Uint8Array, ipOpts: { ttl?: number; tos?: number; df?: boolean; id?: number; checksum?: number } = {}): Uint8Array {
  const p = h.pod(from);
  return buildFrame([{ type: 'eth', src: p.mac, dst: HOST_VETH_MAC }, { type: 'ipv4', src: p.ip, dst, ...ipOpts }, ...l4], payload);
}

export function udp(srcPort: number, dstPort: number): LayerSpec[] {
  return [{ type: 'udp', srcPort, dstPort }];
}

/** ARP who-has `target` tell `senderIp`, broadcast from `senderMac`. */
export function arpRequest(senderMac: string, senderIp: string, target: string): Uint8Array {
  const a = new Uint8Array(28);
  a.set([0, 1, 8, 0, 6, 4, 0, 1], 0);
  a.set(parseMac(senderMac), 8);
  new DataView(a.buffer).setUint32(14, parseIpv4(senderIp));
  new DataView(a.buffer).setUint32(24, parseIpv4(target));
  return buildFrame([{ type: 'eth', src: senderMac, dst: 'ff:ff:ff:ff:ff:ff', etherType: 0x0806 }, { type: 'raw', bytes: a }]);
}

/** A VXLAN frame node `from` would send node `to`: inner VTEP MACs, pod-to-pod inner IPv4 with TTL 63. */
export function vxlanFromNode(h: Harness, from: string, to: string, inner: { src: string; dst: string; l4: LayerSpec[]; payload?: Uint8Array }, o: { vni?: number; flags?: number; port?: number; udpChecksum?: number } = {}): Uint8Array {
  const a = h.node(from);
  const b = h.node(to);
  return buildFrame([
    { type: 'eth', src: a.mac, dst: b.mac },
    { type: 'ipv4', src: a.ip, dst: b.ip },
    { type: 'udp', srcPort: 40000, dstPort: o.port ?? h.cluster.tunnel.port, ...(o.udpChecksum !== undefined ? { checksum: o.udpChecksum } : {}) },
    { type: 'vxlan', vni: o.vni ?? h.cluster.tunnel.vni, flags: o.flags },
    { type: 'eth', src: a.vtepMac, dst: b.vtepMac },
    { type: 'ipv4', src: inner.src, dst: inner.dst, ttl: 63 },
    ...inner.l4,
  ], inner.payload);
}
