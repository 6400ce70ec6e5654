/**
 * The parsed-packet record: one PacketView per worker, reused for every frame (no per-packet allocation).
 * All fields are numbers; byte strings (MACs, IPv6 addresses, payload) are read from `buf` at the recorded offsets.
 * Offsets are absolute indexes into `buf`; -1 means "header not present".
 */

/** pcap LINKTYPE_* values dpemu dissects. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

/** What a layer is relative to the one before it. */
export const LayerKind = { OUTER: 0, TUNNEL_INNER: 1, ICMP_QUOTED: 2, IP_IN_IP: 3 } as const;
export const L3Kind = { NONE: 0, IPV4: 1, IPV6: 2, ARP: 3 } as const;
/** Encapsulation found in a layer's payload; the encapsulated frame is the next layer. */
export const TunnelKind = { NONE: 0, VXLAN: 1, GENEVE: 2, IP_IN_IP: 3 } as const;

/** Bits of LayerView.ipv6ExtMask: which IPv6 extension headers were walked. */
export const Ipv6Ext = { HOP_BY_HOP: 1, ROUTING: 2, FRAGMENT: 4, DEST_OPTS: 8, AH: 16 } as const;
/** Bits of LayerView.tcpOptMask: which TCP options were seen (values in the matching fields). */
export const TcpOpt = { MSS: 1, WSCALE: 2, SACK_PERMITTED: 4, TIMESTAMP: 8, SACK: 16 } as const;
/** TCP flag bits as in tshark `tcp.flags` (12 bits: 3 reserved, AE (ex-NS), CWR, ECE, URG, ACK, PSH, RST, SYN, FIN). */
export const TcpFlag = {
  FIN: 0x001, SYN: 0x002, RST: 0x004, PSH: 0x008, ACK: 0x010, URG: 0x020, ECE: 0x040, CWR: 0x080, AE: 0x100,
} as const;

export const MAX_LAYERS = 4;
export const MAX_VLAN_TAGS = 4;

export class LayerView {
  /** LayerKind of this layer. */
  kind = 0;
  // ---- L2 ----
  /** Start of the Ethernet header (-1: no Ethernet in this layer, e.g. raw IP, SLL, ICMP-quoted IP). */
  l2Offset = -1;
  ethDstOffset = -1;
  ethSrcOffset = -1;
  /** The 16-bit type at Ethernet offset 12 (a TPID when tagged): what tshark shows as `eth.type`. */
  ethType = 0;
  /** Final EtherType after VLAN tags (or the SLL protocol / implied by the link type); 0 if unknown. */
  etherType = 0;
  vlanCount = 0;
  readonly vlanTpid = new Uint16Array(MAX_VLAN_TAGS);
  readonly vlanId = new Uint16Array(MAX_VLAN_TAGS);
  readonly vlanPcp = new Uint8Array(MAX_VLAN_TAGS);
  readonly vlanDei = new Uint8Array(MAX_VLAN_TAGS);
  // ---- L3 ----
  l3Kind = 0;
  l3Offset = -1;
  ipVersion = 0;
  /** IPv4: IHL*4. IPv6: 40 (extension headers are in ipv6ExtLen). */
  ipHeaderLen = 0;
  /**
   * IPv4 total length; IPv6: 40 + payload length. A 0 on the wire (TSO / BIG TCP / jumbogram without the option)
   * is replaced by the length up to the end of the frame, as Wireshark does.
   */
  ipTotalLen = 0;
  ipTtl = 0;
  /** IPv4 TOS byte / IPv6 traffic class. */
  ipTos = 0;
  ipFlowLabel = 0;
  /** IPv4 identification; IPv6 fragment header identification (32-bit). */
  ipId = 0;
  ipDf = 0;
  ipMf = 0;
  /** Fragment offset in bytes (IPv4 and IPv6 fragment header). */
  fragOffset = 0;
  /** 1 if this datagram is a fragment (MF set or offset > 0). Only the first fragment carries L4. */
  ipIsFragment = 0;
  ipChecksum = 0;
  /** Final protocol / next header after IPv6 extension headers. */
  ipProto = 0;
  ipv6ExtMask = 0;
  ipv6ExtLen = 0;
  /** IPv4 source/destination as unsigned 32-bit numbers (ARP: sender/target protocol address). */
  src4 = 0;
  dst4 = 0;
  /** Offset of the source/destination address (4 bytes IPv4, 16 bytes IPv6). */
  srcAddrOffset = -1;
  dstAddrOffset = -1;
  /** End of the IP datagram within the capture: min(l3Offset + total length, captured end). */
  ipEnd = 0;
  // ---- ARP ----
  arpOp = 0;
  arpHtype = 0;
  arpPtype = 0;
  arpShaOffset = -1;
  arpSpaOffset = -1;
  arpThaOffset = -1;
  arpTpaOffset = -1;
  // ---- L4 ----
  l4Offset = -1;
  /** IP protocol of the parsed L4 header (6, 17, 1, 58), 0 if none parsed. */
  l4Proto = 0;
  srcPort = 0;
  dstPort = 0;
  l4Checksum = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpFlags = 0;
  tcpWindow = 0;
  tcpHeaderLen = 0;
  tcpUrgent = 0;
  tcpOptMask = 0;
  tcpMss = 0;
  tcpWscale = 0;
  tcpTsVal = 0;
  tcpTsEcr = 0;
  udpLength = 0;
  icmpType = 0;
  icmpCode = 0;
  icmpId = 0;
  icmpSeq = 0;
  /** L4 payload (after TCP/UDP/ICMP header), bounded by the capture and the IP total length. */
  payloadOffset = -1;
  payloadLength = 0;
  // ---- tunnel carried in this layer's payload ----
  tunnel = 0;
  tunnelOffset = -1;
  vni = 0;
  /** VXLAN: first byte (0x08 = I). GENEVE: first two bytes (ver/optlen, O/C flags). */
  tunnelFlags = 0;
  geneveOptLen = 0;
  geneveProto = 0;

  reset(kind: number): void {
    this.kind = kind;
    this.l2Offset = -1; this.ethDstOffset = -1; this.ethSrcOffset = -1; this.ethType = 0; this.etherType = 0;
    this.vlanCount = 0;
    this.l3Kind = 0; this.l3Offset = -1; this.ipVersion = 0; this.ipHeaderLen = 0; this.ipTotalLen = 0;
    this.ipTtl = 0; this.ipTos = 0; this.ipFlowLabel = 0; this.ipId = 0; this.ipDf = 0; this.ipMf = 0;
    this.fragOffset = 0; this.ipIsFragment = 0; this.ipChecksum = 0; this.ipProto = 0;
    this.ipv6ExtMask = 0; this.ipv6ExtLen = 0; this.src4 = 0; this.dst4 = 0;
    this.srcAddrOffset = -1; this.dstAddrOffset = -1; this.ipEnd = 0;
    this.arpOp = 0; this.arpHtype = 0; this.arpPtype = 0;
    this.arpShaOffset = -1; this.arpSpaOffset = -1; this.arpThaOffset = -1; this.arpTpaOffset = -1;
    this.l4Offset = -1; this.l4Proto = 0; this.srcPort = 0; this.dstPort = 0; this.l4Checksum = 0;
    this.tcpSeq = 0; this.tcpAck = 0; this.tcpFlags = 0; this.tcpWindow = 0; this.tcpHeaderLen = 0;
    this.tcpUrgent = 0; this.tcpOptMask = 0; this.tcpMss = 0; this.tcpWscale = 0; this.tcpTsVal = 0;
    this.tcpTsEcr = 0; this.udpLength = 0;
    this.icmpType = 0; this.icmpCode = 0; this.icmpId = 0; this.icmpSeq = 0;
    this.payloadOffset = -1; this.payloadLength = 0;
    this.tunnel = 0; this.tunnelOffset = -1; this.vni = 0; this.tunnelFlags = 0;
    this.geneveOptLen = 0; this.geneveProto = 0;
  }
}

/** Which UDP destination ports are VXLAN. Linux default + IANA: {4789, 8472}. tshark 4.0 decodes only 4789. */
export const VXLAN_PORTS_DEFAULT: readonly number[] = [4789, 8472];
export const VXLAN_PORTS_TSHARK: readonly number[] = [4789];
export const GENEVE_PORT = 6081;

export interface ParseOptions {
  /** UDP destination ports decoded as VXLAN (default VXLAN_PORTS_DEFAULT). */
  vxlanPorts?: readonly number[];
  /**
   * Linux vxlan_rcv semantics (default true): I flag required and every other flag/reserved bit zero,
   * else UNKNOWN_VXLAN_FLAGS and the inner frame is not parsed. false = Wireshark/RFC 7348 "ignore reserved bits".
   */
  vxlanStrictFlags?: boolean;
}

export class PacketView {
  buf: Uint8Array = new Uint8Array(0);
  start = 0;
  caplen = 0;
  wireLen = 0;
  linkType = 0;
  layerCount = 0;
  readonly layers: LayerView[] = Array.from({ length: MAX_LAYERS }, () => new LayerView());
  /** ParseError number, 0 = OK. */
  error = 0;
  errorOffset = -1;
  errorLayer = -1;
  /** Bitmap of VXLAN ports, index = port (64 Ki bits). */
  readonly vxlanPortMap = new Uint8Array(65536);
  vxlanStrictFlags = true;

  constructor(options: ParseOptions = {}) {
    this.configure(options);
  }

  configure(options: ParseOptions): void {
    this.vxlanPortMap.fill(0);
    for (const p of options.vxlanPorts ?? VXLAN_PORTS_DEFAULT) this.vxlanPortMap[p & 0xffff] = 1;
    this.vxlanStrictFlags = options.vxlanStrictFlags ?? true;
  }

  /** Innermost layer parsed (layers[layerCount-1]); layers[0] if nothing was parsed. */
  innermost(): LayerView {
    return this.layers[this.layerCount > 0 ? this.layerCount - 1 : 0];
  }
}
