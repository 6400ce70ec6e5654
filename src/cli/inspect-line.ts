/**
 * `dpemu inspect` text lines, in the spirit of `tcpdump -n` (see docs/cli.md for the exact forms).
 * Builds strings per frame: inspection output, not the data path.
 */
import { parseErrorName } from '../packet/errors.js';
import { formatFraction } from './inspect-summary.js';
import { ipv4ToString, ipv6ToString, macToString } from '../packet/format.js';
import { L3Kind, LayerKind, TcpFlag, TunnelKind, type LayerView, type PacketView } from '../packet/view.js';

/** tcpdump's flag letters, in its print order (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, AE). */
const TCP_FLAG_CHARS: readonly (readonly [number, string])[] = [
  [TcpFlag.FIN, 'F'], [TcpFlag.SYN, 'S'], [TcpFlag.RST, 'R'], [TcpFlag.PSH, 'P'], [TcpFlag.ACK, '.'],
  [TcpFlag.URG, 'U'], [TcpFlag.ECE, 'E'], [TcpFlag.CWR, 'W'], [TcpFlag.AE, 'e'],
];

const ICMP4_NAMES: Record<number, string> = {
  0: 'echo reply', 3: 'unreachable', 4: 'source quench', 5: 'redirect', 8: 'echo request', 9: 'router advertisement',
  10: 'router solicitation', 11: 'time exceeded', 12: 'parameter problem', 13: 'timestamp request', 14: 'timestamp reply',
};
const ICMP6_NAMES: Record<number, string> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 4: 'parameter problem',
  128: 'echo request', 129: 'echo reply', 130: 'multicast listener query', 131: 'multicast listener report',
  132: 'multicast listener done', 133: 'router solicitation', 134: 'router advertisement',
  135: 'neighbor solicitation', 136: 'neighbor advertisement', 137: 'redirect', 143: 'multicast listener report v2',
};

/** `HH:MM:SS.ffffff` (or 9 fraction digits) in UTC. */
export function formatTimeOfDay(sec: number, nsec: number, digits: 6 | 9): string {
  const day = ((sec % 86400) + 86400) % 86400;
  const hh = Math.floor(day / 3600);
  const mm = Math.floor((day % 3600) / 60);
  const ss = day % 60;
  return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}.${formatFraction(nsec, digits)}`;
}

function tcpFlags(f: number): string {
  let s = '';
  for (const [bit, c] of TCP_FLAG_CHARS) if (f & bit) s += c;
  return s === '' ? 'none' : s;
}

function addr(v: PacketView, L: LayerView, src: boolean): string {
  if (L.l3Kind === L3Kind.IPV4) return ipv4ToString(src ? L.src4 : L.dst4);
  return ipv6ToString(v.buf, src ? L.srcAddrOffset : L.dstAddrOffset);
}

/** Describes the L4 part of an IP layer (after `IP a.p > b.q: `). */
function l4Text(v: PacketView, L: LayerView, next: string): string {
  const ipPayload = L.ipTotalLen - L.ipHeaderLen - L.ipv6ExtLen;
  if (L.l4Proto === 6) {
    if (L.tcpHeaderLen === 0) return `tcp (header truncated)`;
    const len = L.payloadLength;
    let s = `Flags [${tcpFlags(L.tcpFlags)}], seq ${L.tcpSeq}`;
    if (len > 0) s += `:${(L.tcpSeq + len) >>> 0}`;
    if (L.tcpFlags & TcpFlag.ACK) s += `, ack ${L.tcpAck}`;
    s += `, win ${L.tcpWindow}`;
    if (L.tcpOptMask & 1) s += `, mss ${L.tcpMss}`;
    return `${s}, length ${len}`;
  }
  if (L.l4Proto === 17) {
    if (L.tunnel === TunnelKind.VXLAN && L.tunnelOffset >= 0) return `VXLAN, vni ${L.vni}${next}`;
    if (L.tunnel === TunnelKind.GENEVE && L.tunnelOffset >= 0) return `GENEVE, vni ${L.vni}${next}`;
    return `UDP, length ${L.udpLength >= 8 ? L.udpLength - 8 : ipPayload - 8}`;
  }
  if (L.l4Proto === 1) {
    const name = ICMP4_NAMES[L.icmpType] ?? `type ${L.icmpType}`;
    let s = `ICMP ${name}`;
    if (L.icmpType === 0 || L.icmpType === 8) s += `, id ${L.icmpId}, seq ${L.icmpSeq}`;
    else if (L.icmpCode !== 0 || L.icmpType === 3 || L.icmpType === 11) s += ` code ${L.icmpCode}`;
    return `${s}, length ${ipPayload}${next}`;
  }
  if (L.l4Proto === 58) {
    const name = ICMP6_NAMES[L.icmpType] ?? `type ${L.icmpType}`;
    let s = `ICMP6, ${name}`;
    if (L.icmpType === 128 || L.icmpType === 129) s += `, id ${L.icmpId}, seq ${L.icmpSeq}`;
    else if (L.icmpCode !== 0) s += ` code ${L.icmpCode}`;
    return `${s}, length ${ipPayload}${next}`;
  }
  if (L.tunnel === TunnelKind.IP_IN_IP) return next.slice(2);
  if (L.ipIsFragment && L.fragOffset > 0) return `fragment id 0x${L.ipId.toString(16)} offset ${L.fragOffset}, proto ${L.ipProto}, length ${ipPayload}`;
  return `ip-proto-${L.ipProto}, length ${ipPayload}`;
}

/** One layer and (through `next`) everything it encapsulates. */
function layerText(v: PacketView, i: number, outerEnd: number): string {
  const L = v.layers[i];
  const next = i + 1 < v.layerCount ? `: ${layerText(v, i + 1, L.ipEnd)}` : '';
  let prefix = L.kind === LayerKind.ICMP_QUOTED ? 'quoted ' : '';
  for (let t = 0; t < L.vlanCount; t++) prefix += `vlan ${L.vlanId[t]}, `;
  if (L.l3Kind === L3Kind.ARP) {
    const len = outerEnd - L.l3Offset;
    const hasIp = L.arpPtype === 0x0800 && L.arpSpaOffset >= 0;
    if (!hasIp) return `${prefix}ARP, opcode ${L.arpOp}, length ${len}`;
    const spa = ipv4ToString(L.src4);
    const tpa = ipv4ToString(L.dst4);
    if (L.arpOp === 1) return `${prefix}ARP, Request who-has ${tpa} tell ${spa}, length ${len}`;
    if (L.arpOp === 2) {
      const mac = L.arpHtype === 1 && L.arpShaOffset >= 0 ? macToString(v.buf, L.arpShaOffset) : '?';
      return `${prefix}ARP, Reply ${spa} is-at ${mac}, length ${len}`;
    }
    return `${prefix}ARP, opcode ${L.arpOp} ${spa} > ${tpa}, length ${len}`;
  }
  if (L.l3Kind === L3Kind.IPV4 || L.l3Kind === L3Kind.IPV6) {
    const ip = L.l3Kind === L3Kind.IPV4 ? 'IP' : 'IP6';
    const ports = L.l4Proto === 6 || L.l4Proto === 17;
    const src = addr(v, L, true) + (ports ? `.${L.srcPort}` : '');
    const dst = addr(v, L, false) + (ports ? `.${L.dstPort}` : '');
    return `${prefix}${ip} ${src} > ${dst}: ${l4Text(v, L, next)}`;
  }
  if (L.l3Offset < 0 && L.etherType === 0 && L.l2Offset < 0) {
    return `${prefix}link-type ${v.linkType}, length ${v.wireLen}${next}`;
  }
  const start = L.l2Offset >= 0 ? L.l2Offset : v.start;
  const type = L.etherType !== 0 ? L.etherType : L.ethType;
  return `${prefix}ethertype 0x${type.toString(16).padStart(4, '0')}, length ${outerEnd - start}${next}`;
}

/**
 * `   1 12:34:56.789012 IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [S], seq 1, win 64240, length 0 [dpemu: X at byte 14]`
 * (frame number right-aligned in 4 columns; the parse error, when there is one, appended with its byte offset in the frame).
 */
export function frameLine(number: number, sec: number, nsec: number, digits: 6 | 9, v: PacketView): string {
  const wireEnd = v.start + Math.max(v.wireLen, v.caplen);
  let body = v.layerCount > 0 ? layerText(v, 0, wireEnd) : `length ${v.wireLen}`;
  if (v.error !== 0) body += ` [dpemu: ${parseErrorName(v.error)} at byte ${v.errorOffset - v.start}]`;
  return `${String(number).padStart(4)} ${formatTimeOfDay(sec, nsec, digits)} ${body}`;
}
