import { DeviceKind, type Device, type DeviceTable } from '../dataplane/devices.js';
import { parsePacket } from '../packet/parse.js';
import { L3Kind, LinkType, type PacketView } from '../packet/view.js';

/**
 * Frames from link types without Ethernet (Linux cooked SLL/SLL2, raw IP, BSD NULL/LOOP) enter the
 * emulated cluster as Ethernet: a 14-byte header with zero MACs (frame-input re-derives them for
 * the sender) and the EtherType of the L3 packet. Returns the Ethernet frame length written into
 * `out`, or -1 when the frame has no IP/ARP layer to carry (it stays as is and is dropped as
 * malformed or unsupported by the pipeline).
 */
export function toEthernet(v: PacketView, frame: Uint8Array, caplen: number, wireLen: number, linkType: number, out: Uint8Array): number {
  parsePacket(v, frame, 0, caplen, wireLen, linkType);
  const L = v.layers[0];
  if (L.l3Offset < 0) return -1;
  const type = L.l3Kind === L3Kind.IPV4 ? 0x0800 : L.l3Kind === L3Kind.IPV6 ? 0x86dd : L.l3Kind === L3Kind.ARP ? 0x0806 : 0;
  if (type === 0) return -1;
  const body = caplen - L.l3Offset;
  if (14 + body > out.length) return -1;
  out.fill(0, 0, 12);
  out[12] = type >> 8;
  out[13] = type & 0xff;
  out.set(frame.subarray(L.l3Offset, caplen), 14);
  return 14 + body;
}

/**
 * The MACs of a re-derived header when the frame's device is known (`--at`, a pcapng interface named like a
 * device) rather than found by source IP in frame-input: a pod's eth0 sends to its host veth, any other
 * device receives the frame as addressed to itself. Zero MACs would fail ethernet-input (PACKET_OTHERHOST).
 */
export function addressFor(out: Uint8Array, dev: Device, devices: DeviceTable): void {
  if (dev.kind === DeviceKind.POD_ETH0) {
    out.set(devices.get(dev.peer).mac, 0);
    out.set(dev.mac, 6);
  } else {
    out.set(dev.mac, 0);
  }
}

export function isEthernet(linkType: number): boolean {
  return linkType === LinkType.ETHERNET;
}
