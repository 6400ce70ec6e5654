/**
 * parsePacket: one pass over a frame filling a reused PacketView (OVS miniflow_extract style).
 * Hot path rules: no allocation, index the Uint8Array directly, stop at the first error and record it.
 * Where Linux and Wireshark disagree the choice is written next to the code.
 */
import { ParseError as E } from './errors.js';
import {
  GENEVE_PORT, Ipv6Ext, L3Kind, LayerKind, MAX_LAYERS, MAX_VLAN_TAGS, TcpOpt, TunnelKind,
  type LayerView, type PacketView,
} from './view.js';

// How the bytes at a layer's start are to be read.
const ENTRY_NONE = 0;
const ENTRY_ETH = 1;
const ENTRY_IP_NIBBLE = 2;
const ENTRY_IPV4 = 3;
const ENTRY_IPV6 = 4;
const ENTRY_SLL = 5;
const ENTRY_SLL2 = 6;
const ENTRY_NULL = 7;
const ENTRY_LOOP = 8;
const ENTRY_NFLOG = 9;

// Imported enum values copied into module constants: the per-frame path then reads no imported binding (some
// loaders, e.g. vite-node, turn every imported-binding read into a getter call).
const KIND_OUTER: number = LayerKind.OUTER;
const KIND_ICMP_QUOTED: number = LayerKind.ICMP_QUOTED;
const L3_IPV4: number = L3Kind.IPV4;
const L3_IPV6: number = L3Kind.IPV6;

// The next layer found while parsing the current one (module scratch: parsing is synchronous, no allocation).
let nextEntry = ENTRY_NONE;
let nextKind = 0;
let nextOff = 0;
let nextEnd = 0;
let nextWireEnd = 0;

function fail(v: PacketView, code: number, off: number, layer: number): void {
  v.error = code;
  v.errorOffset = off;
  v.errorLayer = layer;
}

function entryForLinkType(linkType: number): number {
  switch (linkType) {
    case 1: return ENTRY_ETH;
    case 101: return ENTRY_IP_NIBBLE;
    case 228: return ENTRY_IPV4;
    case 229: return ENTRY_IPV6;
    case 113: return ENTRY_SLL;
    case 276: return ENTRY_SLL2;
    case 0: return ENTRY_NULL;
    case 108: return ENTRY_LOOP;
    case 239: return ENTRY_NFLOG;
    // pcap LINKTYPE_RAW has two historical DLT values (12 on most BSDs, 14 on OpenBSD) that map to 101.
    case 12: case 14: return ENTRY_IP_NIBBLE;
    default: return ENTRY_NONE;
  }
}

/**
 * Parse one frame into `v`. Returns the ParseError number (also in v.error); never throws on any bytes.
 * `caplen` is clamped to the bytes actually present in `buf` after `start`.
 */
export function parsePacket(
  v: PacketView, buf: Uint8Array, start: number, caplen: number, wireLen: number, linkType: number,
): number {
  v.buf = buf;
  v.start = start;
  v.caplen = caplen;
  v.wireLen = wireLen;
  v.linkType = linkType;
  v.error = 0;
  v.errorOffset = -1;
  v.errorLayer = -1;
  v.layerCount = 0;
  let avail = buf.length - start;
  if (avail < 0) avail = 0;
  const capEnd = start + (caplen < avail ? caplen : avail); // never read past the buffer, whatever caplen says
  let wireEnd = start + (wireLen > caplen ? wireLen : caplen);
  let entry = entryForLinkType(linkType);
  const layers = v.layers;
  layers[0].reset(KIND_OUTER);
  v.layerCount = 1;
  if (entry === ENTRY_NONE) {
    fail(v, E.UNSUPPORTED_LINKTYPE, start, 0);
    return v.error;
  }
  if (capEnd === start) {
    fail(v, E.PACKET_TOO_SHORT, start, 0);
    return v.error;
  }
  let off = start;
  let end = capEnd;
  let li = 0;
  for (;;) {
    nextEntry = ENTRY_NONE;
    parseLayer(v, layers[li], li, entry, off, end, wireEnd);
    if (v.error !== 0 || nextEntry === ENTRY_NONE) break;
    if (li + 1 >= MAX_LAYERS) {
      fail(v, E.TOO_MANY_LAYERS, nextOff, li);
      break;
    }
    li++;
    layers[li].reset(nextKind);
    v.layerCount = li + 1;
    entry = nextEntry;
    off = nextOff;
    end = nextEnd;
    wireEnd = nextWireEnd;
  }
  return v.error;
}

function parseLayer(
  v: PacketView, L: LayerView, li: number, entry: number, off: number, end: number, wireEnd: number,
): void {
  const b = v.buf;
  let etherType = 0;
  switch (entry) {
    case ENTRY_ETH: {
      if (end - off < 14) return fail(v, E.ETH_TRUNCATED, off, li);
      L.l2Offset = off;
      L.ethDstOffset = off;
      L.ethSrcOffset = off + 6;
      let t = (b[off + 12] << 8) | b[off + 13];
      L.ethType = t;
      let p = off + 14;
      // 802.1Q, 802.1ad and the pre-standard QinQ TPIDs 0x9100/0x9200, in any order and depth.
      while (t === 0x8100 || t === 0x88a8 || t === 0x9100 || t === 0x9200) {
        if (end - p < 4) return fail(v, E.VLAN_TRUNCATED, p, li);
        const n = L.vlanCount;
        if (n >= MAX_VLAN_TAGS) return fail(v, E.TOO_MANY_VLAN_TAGS, p, li);
        const tci = (b[p] << 8) | b[p + 1];
        L.vlanTpid[n] = t;
        L.vlanId[n] = tci & 0x0fff;
        L.vlanPcp[n] = tci >> 13;
        L.vlanDei[n] = (tci >> 12) & 1;
        L.vlanCount = n + 1;
        t = (b[p + 2] << 8) | b[p + 3];
        p += 4;
      }
      // Values < 0x600 are an 802.3 length and LLC follows. Only LLC/SNAP with OUI 0 (RFC 1042) carries an
      // EtherType; other LLC (STP, ...) is not dissected.
      if (t < 0x600) {
        t = 0;
        if (end - p >= 8 && b[p] === 0xaa && b[p + 1] === 0xaa && b[p + 2] === 0x03
          && b[p + 3] === 0 && b[p + 4] === 0 && b[p + 5] === 0) {
          t = (b[p + 6] << 8) | b[p + 7];
          p += 8;
        }
      }
      L.etherType = t;
      etherType = L.etherType;
      off = p;
      break;
    }
    case ENTRY_SLL: {
      // Linux cooked v1: pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
      if (end - off < 16) return fail(v, E.SLL_TRUNCATED, off, li);
      etherType = (b[off + 14] << 8) | b[off + 15];
      L.etherType = etherType;
      off += 16;
      break;
    }
    case ENTRY_SLL2: {
      // Linux cooked v2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8).
      if (end - off < 20) return fail(v, E.SLL_TRUNCATED, off, li);
      etherType = (b[off] << 8) | b[off + 1];
      L.etherType = etherType;
      off += 20;
      break;
    }
    case ENTRY_NULL:
    case ENTRY_LOOP: {
      if (end - off < 4) return fail(v, E.NULL_TRUNCATED, off, li);
      // LOOP is always network order. NULL is the capturing host's order: like libpcap/Wireshark, a value
      // with bits in the upper half was written in the other byte order.
      let af = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
      if (entry === ENTRY_NULL && (af & 0xffff0000) !== 0) {
        af = ((b[off + 3] << 24) | (b[off + 2] << 16) | (b[off + 1] << 8) | b[off]) >>> 0;
      }
      off += 4;
      if (af === 2) etherType = 0x0800;
      else if (af === 24 || af === 28 || af === 30 || af === 10) etherType = 0x86dd;
      else return fail(v, E.UNKNOWN_NULL_FAMILY, off - 4, li);
      L.etherType = etherType;
      break;
    }
    case ENTRY_NFLOG: {
      // NFLOG: family(1) version(1) resource_id(2), then TLVs {length LE16 incl. header, type LE16}, 4-aligned.
      if (end - off < 4) return fail(v, E.NFLOG_TRUNCATED, off, li);
      const family = b[off];
      let p = off + 4;
      let found = -1;
      let foundEnd = 0;
      while (end - p >= 4) {
        const tlen = b[p] | (b[p + 1] << 8);
        const ttype = b[p + 2] | (b[p + 3] << 8);
        if (tlen < 4) return fail(v, E.NFLOG_TRUNCATED, p, li);
        if (ttype === 9) { // NFULA_PAYLOAD
          found = p + 4;
          foundEnd = p + tlen;
          break;
        }
        p += (tlen + 3) & ~3;
      }
      if (found < 0) return; // no payload TLV: nothing to dissect
      if (foundEnd > end) foundEnd = end;
      if (family === 2) etherType = 0x0800;
      else if (family === 10) etherType = 0x86dd;
      else return;
      L.etherType = etherType;
      off = found;
      end = foundEnd;
      wireEnd = foundEnd;
      break;
    }
    case ENTRY_IP_NIBBLE: {
      if (end - off < 1) return fail(v, E.IPV4_TRUNCATED, off, li);
      const ver = b[off] >> 4;
      if (ver === 4) etherType = 0x0800;
      else if (ver === 6) etherType = 0x86dd;
      else return fail(v, E.BAD_IP_VERSION, off, li);
      L.etherType = etherType;
      break;
    }
    case ENTRY_IPV4:
      etherType = 0x0800;
      L.etherType = etherType;
      break;
    case ENTRY_IPV6:
      etherType = 0x86dd;
      L.etherType = etherType;
      break;
  }
  const quoted = L.kind === KIND_ICMP_QUOTED;
  if (etherType === 0x0800) parseIpv4(v, L, li, off, end, wireEnd, quoted);
  else if (etherType === 0x86dd) parseIpv6(v, L, li, off, end, wireEnd, quoted);
  else if (etherType === 0x0806 || etherType === 0x8035) parseArp(v, L, li, off, end); // ARP, RARP
}

function parseArp(v: PacketView, L: LayerView, li: number, off: number, end: number): void {
  const b = v.buf;
  L.l3Offset = off;
  if (end - off < 8) return fail(v, E.ARP_TRUNCATED, off, li);
  L.l3Kind = L3Kind.ARP;
  L.arpHtype = (b[off] << 8) | b[off + 1];
  L.arpPtype = (b[off + 2] << 8) | b[off + 3];
  const hlen = b[off + 4];
  const plen = b[off + 5];
  L.arpOp = (b[off + 6] << 8) | b[off + 7];
  const p = off + 8;
  if (end - p < 2 * (hlen + plen)) return fail(v, E.ARP_TRUNCATED, p, li);
  L.arpShaOffset = p;
  L.arpSpaOffset = p + hlen;
  L.arpThaOffset = p + hlen + plen;
  L.arpTpaOffset = p + 2 * hlen + plen;
  if (plen === 4) {
    const s = L.arpSpaOffset;
    const t = L.arpTpaOffset;
    L.src4 = b[s] * 0x1000000 + ((b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]);
    L.dst4 = b[t] * 0x1000000 + ((b[t + 1] << 16) | (b[t + 2] << 8) | b[t + 3]);
  }
}

function parseIpv4(
  v: PacketView, L: LayerView, li: number, off: number, end: number, wireEnd: number, quoted: boolean,
): void {
  const b = v.buf;
  L.l3Offset = off;
  if (end - off < 20) return fail(v, E.IPV4_TRUNCATED, off, li);
  const b0 = b[off];
  if (b0 >> 4 !== 4) return fail(v, E.BAD_IP_VERSION, off, li);
  const ihl = (b0 & 15) << 2;
  if (ihl < 20) return fail(v, E.BAD_IHL, off, li);
  let total = (b[off + 2] << 8) | b[off + 3];
  // Total length 0 is TSO/BIG TCP (Linux sets 0 above 64 KiB; Wireshark takes the frame length): use the frame.
  if (total === 0 && !quoted) total = wireEnd - off;
  if (total < ihl) return fail(v, E.BAD_IPV4_TOTAL_LENGTH, off + 2, li);
  L.l3Kind = L3_IPV4;
  L.ipVersion = 4;
  L.ipHeaderLen = ihl;
  L.ipTotalLen = total;
  L.ipTos = b[off + 1];
  L.ipId = (b[off + 4] << 8) | b[off + 5];
  const ff = (b[off + 6] << 8) | b[off + 7];
  L.ipDf = (ff >> 14) & 1;
  L.ipMf = (ff >> 13) & 1;
  const fragOff = (ff & 0x1fff) << 3;
  L.fragOffset = fragOff;
  L.ipIsFragment = L.ipMf | (fragOff !== 0 ? 1 : 0);
  L.ipTtl = b[off + 8];
  const proto = b[off + 9];
  L.ipProto = proto;
  L.ipChecksum = (b[off + 10] << 8) | b[off + 11];
  L.srcAddrOffset = off + 12;
  L.dstAddrOffset = off + 16;
  L.src4 = b[off + 12] * 0x1000000 + ((b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]);
  L.dst4 = b[off + 16] * 0x1000000 + ((b[off + 17] << 16) | (b[off + 18] << 8) | b[off + 19]);
  let dgramWireEnd = off + total;
  const ipEnd = dgramWireEnd < end ? dgramWireEnd : end;
  L.ipEnd = ipEnd;
  // Total length beyond the frame: Linux ip_rcv drops it, so it is an error; like Wireshark the L4 header
  // inside the frame is still dissected (fields valid) and the error is recorded after it.
  // A quoted header (ICMP error) is cut after 8 bytes of L4 by design: there it is not an error.
  let deferred = 0;
  if (dgramWireEnd > wireEnd) {
    if (!quoted) deferred = E.BAD_IPV4_TOTAL_LENGTH;
    dgramWireEnd = wireEnd;
  }
  if (end - off < ihl) return fail(v, E.IPV4_TRUNCATED, off + 20, li);
  if (deferred !== 0) {
    parseL4(v, L, li, proto, off + ihl, ipEnd, dgramWireEnd, quoted, 4);
    if (v.error === 0) fail(v, deferred, off + 2, li);
    return;
  }
  const l4 = off + ihl;
  if (fragOff !== 0) {
    // Non-first fragment: no L4 header here.
    L.payloadOffset = l4;
    L.payloadLength = ipEnd - l4;
    return;
  }
  if (proto === 4 || proto === 41) {
    // IP-in-IP / 6in4: the inner datagram is the next layer.
    if (L.ipMf !== 0) return;
    nextEntry = proto === 4 ? ENTRY_IPV4 : ENTRY_IPV6;
    nextKind = LayerKind.IP_IN_IP;
    nextOff = l4;
    nextEnd = ipEnd;
    nextWireEnd = dgramWireEnd;
    L.tunnel = TunnelKind.IP_IN_IP;
    L.tunnelOffset = l4;
    L.payloadOffset = l4;
    L.payloadLength = ipEnd - l4;
    return;
  }
  parseL4(v, L, li, proto, l4, ipEnd, dgramWireEnd, quoted, 4);
}

function parseIpv6(
  v: PacketView, L: LayerView, li: number, off: number, end: number, wireEnd: number, quoted: boolean,
): void {
  const b = v.buf;
  L.l3Offset = off;
  if (end - off < 40) return fail(v, E.IPV6_TRUNCATED, off, li);
  if (b[off] >> 4 !== 6) return fail(v, E.BAD_IP_VERSION, off, li);
  L.l3Kind = L3_IPV6;
  L.ipVersion = 6;
  L.ipHeaderLen = 40;
  L.ipTos = ((b[off] & 15) << 4) | (b[off + 1] >> 4);
  L.ipFlowLabel = ((b[off + 1] & 15) << 16) | (b[off + 2] << 8) | b[off + 3];
  let plen = (b[off + 4] << 8) | b[off + 5];
  let nh = b[off + 6];
  L.ipTtl = b[off + 7];
  L.srcAddrOffset = off + 8;
  L.dstAddrOffset = off + 24;
  // Payload length 0 with data behind it: jumbogram or GSO; like Wireshark, take the frame length.
  if (plen === 0 && !quoted && nh !== 59) plen = wireEnd - off - 40;
  L.ipTotalLen = 40 + plen;
  let dgramWireEnd = off + 40 + plen;
  const ipEnd = dgramWireEnd < end ? dgramWireEnd : end;
  L.ipEnd = ipEnd;
  L.ipProto = nh;
  let deferred = 0;
  if (dgramWireEnd > wireEnd) {
    if (!quoted) deferred = E.BAD_IPV6_PAYLOAD_LENGTH;
    dgramWireEnd = wireEnd;
  }
  let p = off + 40;
  let mask = 0;
  for (;;) {
    let len: number;
    if (nh === 0 || nh === 43 || nh === 60) {
      if (ipEnd - p < 2) return extTruncated(v, L, li, p, quoted);
      len = (b[p + 1] + 1) << 3;
      mask |= nh === 0 ? Ipv6Ext.HOP_BY_HOP : nh === 43 ? Ipv6Ext.ROUTING : Ipv6Ext.DEST_OPTS;
    } else if (nh === 44) {
      if (ipEnd - p < 8) return extTruncated(v, L, li, p, quoted);
      len = 8;
      mask |= Ipv6Ext.FRAGMENT;
      const fo = (b[p + 2] << 8) | b[p + 3];
      L.fragOffset = fo & 0xfff8;
      L.ipMf = fo & 1;
      L.ipIsFragment = 1;
      L.ipId = b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
    } else if (nh === 51) {
      if (ipEnd - p < 2) return extTruncated(v, L, li, p, quoted);
      len = (b[p + 1] + 2) << 2;
      mask |= Ipv6Ext.AH;
    } else {
      break;
    }
    if (ipEnd - p < len) return extTruncated(v, L, li, p, quoted);
    nh = b[p];
    p += len;
  }
  L.ipv6ExtMask = mask;
  L.ipv6ExtLen = p - off - 40;
  L.ipProto = nh;
  if (L.fragOffset !== 0 || nh === 59) {
    L.payloadOffset = p;
    L.payloadLength = ipEnd - p;
    if (deferred !== 0) fail(v, deferred, off + 4, li);
    return;
  }
  if (nh === 4 || nh === 41) {
    if (L.ipMf !== 0) return;
    if (deferred !== 0) return fail(v, deferred, off + 4, li);
    nextEntry = nh === 4 ? ENTRY_IPV4 : ENTRY_IPV6;
    nextKind = LayerKind.IP_IN_IP;
    nextOff = p;
    nextEnd = ipEnd;
    nextWireEnd = dgramWireEnd;
    L.tunnel = TunnelKind.IP_IN_IP;
    L.tunnelOffset = p;
    L.payloadOffset = p;
    L.payloadLength = ipEnd - p;
    return;
  }
  parseL4(v, L, li, nh, p, ipEnd, dgramWireEnd, quoted, 6);
  if (deferred !== 0 && v.error === 0) fail(v, deferred, off + 4, li);
}

function extTruncated(v: PacketView, L: LayerView, li: number, p: number, quoted: boolean): void {
  // Inside an ICMP quote running out of bytes is expected, not an error.
  if (!quoted) fail(v, E.IPV6_EXT_TRUNCATED, p, li);
  L.payloadOffset = -1;
}

function parseL4(
  v: PacketView, L: LayerView, li: number, proto: number, p: number, ipEnd: number, wireEnd: number,
  quoted: boolean, ipVer: number,
): void {
  const b = v.buf;
  const avail = ipEnd - p;
  if (proto === 6) {
    L.l4Offset = p;
    if (avail < 20) {
      if (avail >= 4) {
        L.l4Proto = 6;
        L.srcPort = (b[p] << 8) | b[p + 1];
        L.dstPort = (b[p + 2] << 8) | b[p + 3];
        if (avail >= 8) L.tcpSeq = b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
      }
      if (!quoted) fail(v, E.TCP_TRUNCATED, p, li);
      return;
    }
    L.l4Proto = 6;
    L.srcPort = (b[p] << 8) | b[p + 1];
    L.dstPort = (b[p + 2] << 8) | b[p + 3];
    L.tcpSeq = b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
    L.tcpAck = b[p + 8] * 0x1000000 + ((b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11]);
    const b12 = b[p + 12];
    const hl = (b12 >> 4) << 2;
    L.tcpHeaderLen = hl;
    L.tcpFlags = ((b12 & 15) << 8) | b[p + 13];
    L.tcpWindow = (b[p + 14] << 8) | b[p + 15];
    L.l4Checksum = (b[p + 16] << 8) | b[p + 17];
    L.tcpUrgent = (b[p + 18] << 8) | b[p + 19];
    if (hl < 20) return fail(v, E.BAD_TCP_DATA_OFFSET, p + 12, li);
    if (p + hl > wireEnd) return fail(v, E.BAD_TCP_DATA_OFFSET, p + 12, li);
    if (hl > avail) {
      if (!quoted) fail(v, E.TCP_TRUNCATED, p + 20, li);
      return;
    }
    if (hl > 20) parseTcpOptions(b, L, p + 20, p + hl);
    L.payloadOffset = p + hl;
    L.payloadLength = avail - hl;
    return;
  }
  if (proto === 17) {
    L.l4Offset = p;
    if (avail < 8) {
      if (avail >= 4) {
        L.l4Proto = 17;
        L.srcPort = (b[p] << 8) | b[p + 1];
        L.dstPort = (b[p + 2] << 8) | b[p + 3];
      }
      if (!quoted) fail(v, E.UDP_TRUNCATED, p, li);
      return;
    }
    L.l4Proto = 17;
    const dport = (b[p + 2] << 8) | b[p + 3];
    L.srcPort = (b[p] << 8) | b[p + 1];
    L.dstPort = dport;
    const ulen = (b[p + 4] << 8) | b[p + 5];
    L.udpLength = ulen;
    L.l4Checksum = (b[p + 6] << 8) | b[p + 7];
    L.payloadOffset = p + 8;
    if (quoted) {
      L.payloadLength = avail - 8;
      return;
    }
    // UDP length 0 is legal only for IPv6 jumbograms (RFC 2675); then the IP length rules.
    // In a first fragment the UDP length covers the whole datagram, not this fragment.
    let udpEnd = p + ulen;
    if ((ulen === 0 && ipVer === 6) || (L.ipMf !== 0 && udpEnd > wireEnd)) udpEnd = wireEnd;
    else if (ulen < 8 || udpEnd > wireEnd) {
      L.payloadLength = avail - 8;
      return fail(v, E.BAD_UDP_LENGTH, p + 4, li);
    }
    const capUdpEnd = udpEnd < ipEnd ? udpEnd : ipEnd;
    const plen = capUdpEnd - p - 8;
    L.payloadLength = plen;
    if (L.ipMf !== 0) return; // first fragment: the tunnel header may be whole but the frame is not
    const q = p + 8;
    if (v.vxlanPortMap[dport] === 1) {
      L.tunnel = TunnelKind.VXLAN;
      L.tunnelOffset = q;
      if (plen < 8) return fail(v, E.VXLAN_TRUNCATED, q, li);
      const flags = b[q];
      L.tunnelFlags = flags;
      L.vni = (b[q + 4] << 16) | (b[q + 5] << 8) | b[q + 6];
      // RFC 7348 says receivers ignore reserved bits; Linux vxlan_rcv drops unless I is set and every other
      // flag/reserved bit (outside enabled extensions) is zero. dpemu emulates Linux by default.
      if (v.vxlanStrictFlags
        && (flags !== 0x08 || b[q + 1] !== 0 || b[q + 2] !== 0 || b[q + 3] !== 0 || b[q + 7] !== 0)) {
        return fail(v, E.UNKNOWN_VXLAN_FLAGS, q, li);
      }
      nextEntry = ENTRY_ETH;
      nextKind = LayerKind.TUNNEL_INNER;
      nextOff = q + 8;
      nextEnd = capUdpEnd;
      nextWireEnd = udpEnd;
      return;
    }
    if (dport === GENEVE_PORT) {
      L.tunnel = TunnelKind.GENEVE;
      L.tunnelOffset = q;
      if (plen < 8) return fail(v, E.GENEVE_TRUNCATED, q, li);
      L.tunnelFlags = (b[q] << 8) | b[q + 1];
      const optLen = (b[q] & 0x3f) << 2;
      L.geneveOptLen = optLen;
      const ptype = (b[q + 2] << 8) | b[q + 3];
      L.geneveProto = ptype;
      L.vni = (b[q + 4] << 16) | (b[q + 5] << 8) | b[q + 6];
      if (b[q] >> 6 !== 0) return fail(v, E.BAD_GENEVE_VERSION, q, li);
      if (plen < 8 + optLen) return fail(v, E.GENEVE_TRUNCATED, q + 8, li);
      const inner = q + 8 + optLen;
      if (ptype === 0x6558) nextEntry = ENTRY_ETH;
      else if (ptype === 0x0800) nextEntry = ENTRY_IPV4;
      else if (ptype === 0x86dd) nextEntry = ENTRY_IPV6;
      else return;
      nextKind = LayerKind.TUNNEL_INNER;
      nextOff = inner;
      nextEnd = capUdpEnd;
      nextWireEnd = udpEnd;
    }
    return;
  }
  if (proto === 1 || proto === 58) {
    L.l4Offset = p;
    if (avail < 8) {
      if (avail >= 4) {
        L.l4Proto = proto;
        L.icmpType = b[p];
        L.icmpCode = b[p + 1];
      }
      if (!quoted) fail(v, E.ICMP_TRUNCATED, p, li);
      return;
    }
    L.l4Proto = proto;
    const type = b[p];
    L.icmpType = type;
    L.icmpCode = b[p + 1];
    L.l4Checksum = (b[p + 2] << 8) | b[p + 3];
    L.icmpId = (b[p + 4] << 8) | b[p + 5];
    L.icmpSeq = (b[p + 6] << 8) | b[p + 7];
    L.payloadOffset = p + 8;
    L.payloadLength = avail - 8;
    if (quoted) return; // an error about an error is not quoted further
    // Errors quote the offending IP header + at least 8 bytes (RFC 792 / RFC 4443): parse it as the next layer.
    const isErr = proto === 1
      ? (type === 3 || type === 4 || type === 5 || type === 11 || type === 12)
      : (type >= 1 && type <= 4);
    if (isErr && avail > 8) {
      nextEntry = proto === 1 ? ENTRY_IPV4 : ENTRY_IPV6;
      nextKind = LayerKind.ICMP_QUOTED;
      nextOff = p + 8;
      nextEnd = ipEnd;
      nextWireEnd = wireEnd;
    }
    return;
  }
  // Other protocols (SCTP, GRE, ESP...): not dissected; the IP payload is the payload.
  L.payloadOffset = p;
  L.payloadLength = avail;
}

function parseTcpOptions(b: Uint8Array, L: LayerView, p: number, end: number): void {
  let mask = 0;
  while (p < end) {
    const kind = b[p];
    if (kind === 0) break;
    if (kind === 1) { p++; continue; }
    if (end - p < 2) break;
    const len = b[p + 1];
    if (len < 2 || end - p < len) break; // malformed option list: keep what was read, not a frame error
    if (kind === 2 && len === 4) {
      L.tcpMss = (b[p + 2] << 8) | b[p + 3];
      mask |= TcpOpt.MSS;
    } else if (kind === 3 && len === 3) {
      L.tcpWscale = b[p + 2];
      mask |= TcpOpt.WSCALE;
    } else if (kind === 4 && len === 2) {
      mask |= TcpOpt.SACK_PERMITTED;
    } else if (kind === 5) {
      mask |= TcpOpt.SACK;
    } else if (kind === 8 && len === 10) {
      L.tcpTsVal = b[p + 2] * 0x1000000 + ((b[p + 3] << 16) | (b[p + 4] << 8) | b[p + 5]);
      L.tcpTsEcr = b[p + 6] * 0x1000000 + ((b[p + 7] << 16) | (b[p + 8] << 8) | b[p + 9]);
      mask |= TcpOpt.TIMESTAMP;
    }
    p += len;
  }
  L.tcpOptMask = mask;
}
