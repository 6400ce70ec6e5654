import { ipv4ToString, ipv6ToString, macToString } from '../packet/format.js';
import { parsePacket } from '../packet/parse.js';
import { L3Kind, LinkType, TunnelKind, type LayerView, type PacketView } from '../packet/view.js';

/** What observers report about a packet at one point: addresses, ports, flags, sizes. */
export interface PacketInfo {
  ethSrc: string;
  ethDst: string;
  /** 'IPv4' | 'IPv6' | 'ARP' | '' */
  l3: string;
  src: string;
  dst: string;
  ttl: number;
  /** 'TCP' | 'UDP' | 'ICMPv4' | 'ICMPv6' | '' */
  l4: string;
  sport: number;
  dport: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  length: number;
  fragment: boolean;
  /** For a VXLAN/GENEVE frame, the inner packet. */
  inner: PacketInfo | null;
  vni: number;
  arpOp: number;
}

const TCP_FLAG_NAMES: [number, string][] = [
  [0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, '.'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W'],
];

/** tcpdump's flag letters: [S], [S.], [P.], [F.], [R]. */
export function tcpFlagLetters(flags: number): string {
  let out = '';
  for (const [bit, ch] of TCP_FLAG_NAMES) if (flags & bit) out += ch;
  return out || 'none';
}

function layerInfo(v: PacketView, i: number): PacketInfo {
  const L: LayerView = v.layers[i];
  const b = v.buf;
  const info: PacketInfo = {
    ethSrc: L.ethSrcOffset >= 0 ? macToString(b, L.ethSrcOffset) : '',
    ethDst: L.ethDstOffset >= 0 ? macToString(b, L.ethDstOffset) : '',
    l3: '', src: '', dst: '', ttl: 0, l4: '', sport: 0, dport: 0, tcpFlags: 0, icmpType: 0, icmpCode: 0,
    length: L.l2Offset >= 0 ? (i === 0 ? v.wireLen : L.ipEnd - L.l2Offset) : L.ipTotalLen,
    fragment: L.ipIsFragment === 1, inner: null, vni: 0, arpOp: L.arpOp,
  };
  if (L.l3Kind === L3Kind.IPV4 || L.l3Kind === L3Kind.ARP) {
    info.l3 = L.l3Kind === L3Kind.IPV4 ? 'IPv4' : 'ARP';
    info.src = ipv4ToString(L.src4);
    info.dst = ipv4ToString(L.dst4);
  } else if (L.l3Kind === L3Kind.IPV6) {
    info.l3 = 'IPv6';
    info.src = ipv6ToString(b, L.srcAddrOffset);
    info.dst = ipv6ToString(b, L.dstAddrOffset);
  }
  info.ttl = L.ipTtl;
  if (L.l4Offset >= 0) {
    if (L.l4Proto === 6) info.l4 = 'TCP';
    else if (L.l4Proto === 17) info.l4 = 'UDP';
    else if (L.l4Proto === 1) info.l4 = 'ICMPv4';
    else if (L.l4Proto === 58) info.l4 = 'ICMPv6';
    info.sport = L.srcPort;
    info.dport = L.dstPort;
    info.tcpFlags = L.tcpFlags;
    info.icmpType = L.icmpType;
    info.icmpCode = L.icmpCode;
  }
  if (L.tunnel === TunnelKind.VXLAN || L.tunnel === TunnelKind.GENEVE) {
    info.vni = L.vni;
    if (i + 1 < v.layerCount) info.inner = layerInfo(v, i + 1);
  }
  return info;
}

/** A frame that never became Ethernet (PacketFlag.NOT_ETHERNET): nothing of its bytes is described. */
export function notEthernetInfo(wireLen: number): PacketInfo {
  return {
    ethSrc: '', ethDst: '', l3: '', src: '', dst: '', ttl: 0, l4: '', sport: 0, dport: 0, tcpFlags: 0, icmpType: 0, icmpCode: 0,
    length: wireLen, fragment: false, inner: null, vni: 0, arpOp: 0,
  };
}

/** Parses an Ethernet frame and describes it (allocates: observers and CLI only). */
export function packetInfo(v: PacketView, frame: Uint8Array, start: number, len: number, wireLen: number): PacketInfo {
  parsePacket(v, frame, start, len, wireLen, LinkType.ETHERNET);
  return layerInfo(v, 0);
}

/** One-line summary: `10.244.1.5:52345 -> 10.244.2.8:8080 TCP [S]`, tunnels show the inner flow. */
export function summarize(p: PacketInfo): string {
  if (p.l3 === 'ARP') return `ARP ${p.arpOp === 1 ? `who-has ${p.dst} tell ${p.src}` : p.arpOp === 2 ? `reply ${p.src} is-at ${p.ethSrc}` : `op ${p.arpOp}`}`;
  if (!p.l3) return p.ethSrc ? `${p.ethSrc} -> ${p.ethDst} non-IP` : `${p.length}-byte frame of a link type without Ethernet`;
  const ep = (a: string, port: number): string => (p.l4 === 'TCP' || p.l4 === 'UDP' ? `${a}:${port}` : a);
  let s = `${ep(p.src, p.sport)} -> ${ep(p.dst, p.dport)} `;
  if (p.l4 === 'TCP') s += `TCP [${tcpFlagLetters(p.tcpFlags)}]`;
  else if (p.l4 === 'UDP') s += 'UDP';
  else if (p.l4 === 'ICMPv4' || p.l4 === 'ICMPv6') s += `${p.l4} ${icmpName(p.icmpType, p.icmpCode, p.l4 === 'ICMPv6')}`;
  else s += p.fragment ? 'IP fragment' : `proto ${p.l4 || '?'}`;
  if (p.fragment && p.l4) s += ' (fragment)';
  if (p.inner) s += ` | vxlan ${p.vni}: ${summarize(p.inner)}`;
  return s;
}

export function icmpName(type: number, code: number, v6: boolean): string {
  if (v6) return `type ${type} code ${code}`;
  switch (type) {
    case 0: return 'echo reply';
    case 8: return 'echo request';
    case 3: return code === 4 ? 'frag needed' : code === 3 ? 'port unreachable' : code === 0 ? 'net unreachable' : code === 1 ? 'host unreachable' : `unreachable code ${code}`;
    case 11: return 'time exceeded';
    default: return `type ${type} code ${code}`;
  }
}
