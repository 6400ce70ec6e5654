/**
 * Wireshark display-filter fields from a parsed PacketView, formatted like `tshark -T fields` prints them.
 * A field present in several layers (tunnel outer/inner, ICMP-quoted header) is an array, outermost first.
 * Allocates freely: this is for `dpemu inspect`, traces and tests, not the hot path.
 */
import { parseErrorName } from './errors.js';
import { hex, ipv4ToString, ipv6ToString, macToString } from './format.js';
import { L3Kind, TunnelKind, type PacketView } from './view.js';

export type PacketFields = Record<string, string | string[]>;

export function packetFields(v: PacketView): PacketFields {
  const acc = new Map<string, string[]>();
  const add = (k: string, s: string): void => {
    const a = acc.get(k);
    if (a) a.push(s);
    else acc.set(k, [s]);
  };
  const b = v.buf;
  add('frame.len', String(v.wireLen));
  add('frame.cap_len', String(v.caplen));
  for (let i = 0; i < v.layerCount; i++) {
    const L = v.layers[i];
    if (L.l2Offset >= 0) {
      add('eth.dst', macToString(b, L.ethDstOffset));
      add('eth.src', macToString(b, L.ethSrcOffset));
      if (L.ethType >= 0x600) add('eth.type', hex(L.ethType, 4));
      // Wireshark dissects 0x88a8 tags with its 802.1ad dissector (ieee8021ad.id), the others as vlan.
      for (let t = 0; t < L.vlanCount; t++) {
        if (L.vlanTpid[t] === 0x88a8) {
          add('ieee8021ad.id', String(L.vlanId[t]));
        } else {
          add('vlan.id', String(L.vlanId[t]));
          const inner = t + 1 < L.vlanCount ? L.vlanTpid[t + 1] : L.etherType;
          if (inner >= 0x600) add('vlan.etype', hex(inner, 4));
        }
      }
    }
    if (L.l3Kind === L3Kind.ARP) {
      add('arp.opcode', String(L.arpOp));
      if (L.arpPtype === 0x0800 && L.arpSpaOffset >= 0 && L.arpThaOffset - L.arpSpaOffset === 4) {
        add('arp.src.proto_ipv4', ipv4ToString(L.src4));
        add('arp.dst.proto_ipv4', ipv4ToString(L.dst4));
      }
    } else if (L.l3Kind === L3Kind.IPV4) {
      add('ip.src', ipv4ToString(L.src4));
      add('ip.dst', ipv4ToString(L.dst4));
      add('ip.proto', String(L.ipProto));
      add('ip.ttl', String(L.ipTtl));
      add('ip.id', hex(L.ipId, 4));
      add('ip.len', String(L.ipTotalLen));
    } else if (L.l3Kind === L3Kind.IPV6) {
      add('ipv6.src', ipv6ToString(b, L.srcAddrOffset));
      add('ipv6.dst', ipv6ToString(b, L.dstAddrOffset));
      add('ipv6.nxt', String(b[L.l3Offset + 6]));
      add('ipv6.hlim', String(L.ipTtl));
    }
    const l4 = L.l4Offset;
    const l4avail = l4 >= 0 ? L.ipEnd - l4 : 0;
    if (L.l4Proto === 6) {
      add('tcp.srcport', String(L.srcPort));
      add('tcp.dstport', String(L.dstPort));
      // tshark adds nothing past the ports unless the 20-byte fixed header is captured.
      if (l4avail >= 20) {
        add('tcp.seq_raw', String(L.tcpSeq));
        add('tcp.flags', hex(L.tcpFlags, 4));
      }
    } else if (L.l4Proto === 17) {
      add('udp.srcport', String(L.srcPort));
      add('udp.dstport', String(L.dstPort));
      if (l4avail >= 8) add('udp.length', String(L.udpLength));
    } else if (L.l4Proto === 1) {
      add('icmp.type', String(L.icmpType));
      add('icmp.code', String(L.icmpCode));
    } else if (L.l4Proto === 58) {
      add('icmpv6.type', String(L.icmpType));
      add('icmpv6.code', String(L.icmpCode));
    }
    const tunHdr = L.tunnelOffset >= 0 && L.ipEnd - L.tunnelOffset >= 8;
    if (L.tunnel === TunnelKind.VXLAN && tunHdr) add('vxlan.vni', String(L.vni));
    else if (L.tunnel === TunnelKind.GENEVE && tunHdr) add('geneve.vni', hex(L.vni, 6));
  }
  if (v.error !== 0) add('dpemu.error', parseErrorName(v.error));
  const out: PacketFields = {};
  for (const [k, a] of acc) out[k] = a.length === 1 ? a[0] : a;
  return out;
}
