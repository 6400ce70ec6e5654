/**
 * Frame builders for tests, benches and `dpemu trace`: plain option objects in, wire bytes out, with lengths,
 * next-header values and checksums filled in. Allocation is fine here (not the hot path).
 *
 *   buildFrame([{ type: 'eth', src, dst }, { type: 'ipv4', src, dst }, { type: 'tcp', srcPort, dstPort }], payload)
 *
 * Layers are listed outermost first; a VXLAN/GENEVE layer is followed by the inner frame's layers.
 */
import { finishChecksum, onesSum, pseudoSum4, pseudoSum6 } from './checksum.js';
import { parseIpv4, parseIpv6, parseMac } from './format.js';

export interface VlanTag { id: number; pcp?: number; dei?: boolean; /** default 0x8100 */ tpid?: number }
export interface EthSpec { type: 'eth'; src?: string; dst?: string; vlans?: VlanTag[]; /** default: from next layer */ etherType?: number }
export interface Ipv4Spec {
  type: 'ipv4'; src: string; dst: string; ttl?: number; tos?: number; id?: number; df?: boolean; mf?: boolean;
  /** bytes, multiple of 8 */ fragOffset?: number; /** raw options, padded to 4 bytes with EOL */ options?: Uint8Array;
  /** default: from next layer */ protocol?: number; /** override the computed total length */ totalLength?: number;
  /** override the computed header checksum */ checksum?: number;
}
export interface Ipv6ExtSpec { /** 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options */ type: 0 | 43 | 44 | 60; fragOffset?: number; mf?: boolean; id?: number; data?: Uint8Array }
export interface Ipv6Spec {
  type: 'ipv6'; src: string; dst: string; hopLimit?: number; trafficClass?: number; flowLabel?: number;
  extensions?: Ipv6ExtSpec[]; /** default: from next layer */ nextHeader?: number; payloadLength?: number;
}
export interface TcpSpec {
  type: 'tcp'; srcPort: number; dstPort: number; seq?: number; ack?: number; /** 12-bit, TcpFlag bits */ flags?: number;
  window?: number; urgent?: number; mss?: number; wscale?: number; sackPermitted?: boolean; timestamp?: [number, number];
  /** raw extra options appended after the ones above */ options?: Uint8Array; checksum?: number;
}
export interface UdpSpec { type: 'udp'; srcPort: number; dstPort: number; /** false: send 0 (no checksum) */ checksum?: boolean | number; length?: number }
export interface IcmpSpec { type: 'icmp4' | 'icmp6'; icmpType: number; code?: number; id?: number; seq?: number; /** 4 bytes after checksum instead of id/seq */ rest?: number }
export interface VxlanSpec { type: 'vxlan'; vni: number; /** default 0x08 */ flags?: number }
export interface GeneveSpec { type: 'geneve'; vni: number; /** default 0x6558 (Ethernet) */ protocol?: number; options?: Uint8Array; oam?: boolean; critical?: boolean }
export interface RawSpec { type: 'raw'; bytes: Uint8Array }

export type LayerSpec = EthSpec | Ipv4Spec | Ipv6Spec | TcpSpec | UdpSpec | IcmpSpec | VxlanSpec | GeneveSpec | RawSpec;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a, 0);
  o.set(b, a.length);
  return o;
}

function put16(b: Uint8Array, o: number, v: number): void { b[o] = (v >>> 8) & 255; b[o + 1] = v & 255; }
function put32(b: Uint8Array, o: number, v: number): void { put16(b, o, v >>> 16); put16(b, o + 2, v & 0xffff); }

function etherTypeOf(next: LayerSpec | undefined): number {
  if (!next) return 0;
  if (next.type === 'ipv4') return 0x0800;
  if (next.type === 'ipv6') return 0x86dd;
  return 0;
}

function protoOf(next: LayerSpec | undefined): number {
  switch (next?.type) {
    case 'tcp': return 6;
    case 'udp': return 17;
    case 'icmp4': return 1;
    case 'icmp6': return 58;
    case 'ipv4': return 4;
    case 'ipv6': return 41;
    default: return 59;
  }
}

/** The IP header that carries layer i (nearest IP layer before it), with its addresses as bytes. */
function enclosingIp(layers: LayerSpec[], i: number): { v6: boolean; src: Uint8Array; dst: Uint8Array } | undefined {
  for (let j = i - 1; j >= 0; j--) {
    const l = layers[j];
    if (l.type === 'ipv4') {
      const s = new Uint8Array(4); put32(s, 0, parseIpv4(l.src));
      const d = new Uint8Array(4); put32(d, 0, parseIpv4(l.dst));
      return { v6: false, src: s, dst: d };
    }
    if (l.type === 'ipv6') return { v6: true, src: parseIpv6(l.src), dst: parseIpv6(l.dst) };
  }
  return undefined;
}

function l4Checksum(layers: LayerSpec[], i: number, proto: number, seg: Uint8Array): number {
  let s = onesSum(seg, 0, seg.length);
  if (proto !== 1) {
    const ip = enclosingIp(layers, i);
    if (ip) {
      const ph = concat(ip.src, ip.dst);
      s += ip.v6 ? pseudoSum6(ph, 0, 16, proto, seg.length) : pseudoSum4(ph, 0, 4, proto, seg.length);
    }
  }
  return finishChecksum(s);
}

function tcpOptions(t: TcpSpec): Uint8Array {
  const o: number[] = [];
  if (t.mss !== undefined) o.push(2, 4, (t.mss >> 8) & 255, t.mss & 255);
  if (t.sackPermitted) o.push(4, 2);
  if (t.timestamp) {
    const [a, b] = t.timestamp;
    o.push(8, 10, (a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255, (b >>> 24) & 255, (b >>> 16) & 255, (b >>> 8) & 255, b & 255);
  }
  if (t.wscale !== undefined) o.push(1, 3, 3, t.wscale);
  if (t.options) o.push(...t.options);
  while (o.length % 4) o.push(0);
  return Uint8Array.from(o);
}

/** Build one frame from layer specs (outermost first) and a payload. */
export function buildFrame(layers: LayerSpec[], payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  let inner = payload;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    const next = layers[i + 1];
    let h: Uint8Array;
    switch (l.type) {
      case 'raw':
        h = l.bytes;
        break;
      case 'eth': {
        const tags = l.vlans ?? [];
        h = new Uint8Array(14 + 4 * tags.length);
        h.set(parseMac(l.dst ?? '02:00:00:00:00:02'), 0);
        h.set(parseMac(l.src ?? '02:00:00:00:00:01'), 6);
        let p = 12;
        for (const t of tags) {
          put16(h, p, t.tpid ?? 0x8100);
          put16(h, p + 2, ((t.pcp ?? 0) << 13) | (t.dei ? 0x1000 : 0) | (t.id & 0xfff));
          p += 4;
        }
        put16(h, p, l.etherType ?? etherTypeOf(next));
        break;
      }
      case 'ipv4': {
        const opts = l.options ?? new Uint8Array(0);
        const ihl = 20 + ((opts.length + 3) & ~3);
        h = new Uint8Array(ihl);
        h[0] = 0x40 | (ihl >> 2);
        h[1] = l.tos ?? 0;
        put16(h, 2, l.totalLength ?? ihl + inner.length);
        put16(h, 4, l.id ?? 0);
        put16(h, 6, (l.df ? 0x4000 : 0) | (l.mf ? 0x2000 : 0) | (((l.fragOffset ?? 0) >> 3) & 0x1fff));
        h[8] = l.ttl ?? 64;
        h[9] = l.protocol ?? protoOf(next);
        put32(h, 12, parseIpv4(l.src));
        put32(h, 16, parseIpv4(l.dst));
        h.set(opts, 20);
        put16(h, 10, l.checksum ?? finishChecksum(onesSum(h, 0, ihl)));
        break;
      }
      case 'ipv6': {
        const exts = l.extensions ?? [];
        let nh = l.nextHeader ?? protoOf(next);
        // Extension headers are built last to first so each one's next-header points inward.
        let extBytes: Uint8Array = new Uint8Array(0);
        for (let e = exts.length - 1; e >= 0; e--) {
          const x = exts[e];
          let eh: Uint8Array;
          if (x.type === 44) {
            eh = new Uint8Array(8);
            put16(eh, 2, ((x.fragOffset ?? 0) & 0xfff8) | (x.mf ? 1 : 0));
            put32(eh, 4, x.id ?? 0);
          } else {
            const data = x.data ?? new Uint8Array(0);
            const len = (2 + data.length + 7) & ~7;
            eh = new Uint8Array(len < 8 ? 8 : len);
            eh.set(data, 2);
            if (x.type !== 43 && data.length === 0) { eh[2] = 1; eh[3] = 4; } // PadN over the 6 option bytes
            eh[1] = (eh.length >> 3) - 1;
          }
          eh[0] = nh;
          nh = x.type;
          extBytes = concat(eh, extBytes);
        }
        h = new Uint8Array(40 + extBytes.length);
        const tc = l.trafficClass ?? 0;
        put32(h, 0, ((6 << 28) | (tc << 20) | ((l.flowLabel ?? 0) & 0xfffff)) >>> 0);
        put16(h, 4, l.payloadLength ?? extBytes.length + inner.length);
        h[6] = nh;
        h[7] = l.hopLimit ?? 64;
        h.set(parseIpv6(l.src), 8);
        h.set(parseIpv6(l.dst), 24);
        h.set(extBytes, 40);
        break;
      }
      case 'tcp': {
        const opts = tcpOptions(l);
        h = new Uint8Array(20 + opts.length);
        put16(h, 0, l.srcPort);
        put16(h, 2, l.dstPort);
        put32(h, 4, l.seq ?? 0);
        put32(h, 8, l.ack ?? 0);
        const flags = l.flags ?? 0x002;
        h[12] = (((20 + opts.length) >> 2) << 4) | ((flags >> 8) & 15);
        h[13] = flags & 255;
        put16(h, 14, l.window ?? 65535);
        put16(h, 18, l.urgent ?? 0);
        h.set(opts, 20);
        const seg = concat(h, inner);
        put16(seg, 16, l.checksum ?? l4Checksum(layers, i, 6, seg));
        inner = seg;
        continue;
      }
      case 'udp': {
        h = new Uint8Array(8);
        put16(h, 0, l.srcPort);
        put16(h, 2, l.dstPort);
        put16(h, 4, l.length ?? 8 + inner.length);
        const seg = concat(h, inner);
        let c: number;
        if (typeof l.checksum === 'number') c = l.checksum;
        else if (l.checksum === false) c = 0;
        else {
          c = l4Checksum(layers, i, 17, seg);
          if (c === 0) c = 0xffff;
        }
        put16(seg, 6, c);
        inner = seg;
        continue;
      }
      case 'icmp4':
      case 'icmp6': {
        h = new Uint8Array(8);
        h[0] = l.icmpType;
        h[1] = l.code ?? 0;
        if (l.rest !== undefined) put32(h, 4, l.rest);
        else { put16(h, 4, l.id ?? 0); put16(h, 6, l.seq ?? 0); }
        const seg = concat(h, inner);
        put16(seg, 2, l4Checksum(layers, i, l.type === 'icmp4' ? 1 : 58, seg));
        inner = seg;
        continue;
      }
      case 'vxlan': {
        h = new Uint8Array(8);
        h[0] = l.flags ?? 0x08;
        h[4] = (l.vni >> 16) & 255; h[5] = (l.vni >> 8) & 255; h[6] = l.vni & 255;
        break;
      }
      case 'geneve': {
        const opts = l.options ?? new Uint8Array(0);
        if (opts.length % 4 !== 0 || opts.length > 252) throw new RangeError('GENEVE options must be a multiple of 4 bytes, at most 252');
        h = new Uint8Array(8 + opts.length);
        h[0] = opts.length >> 2;
        h[1] = (l.oam ? 0x80 : 0) | (l.critical ? 0x40 : 0);
        put16(h, 2, l.protocol ?? 0x6558);
        h[4] = (l.vni >> 16) & 255; h[5] = (l.vni >> 8) & 255; h[6] = l.vni & 255;
        h.set(opts, 8);
        break;
      }
    }
    inner = concat(h, inner);
  }
  return inner;
}

/** Ethernet/IPv4/UDP/VXLAN around an inner Ethernet frame's layers (Linux defaults: outer DF 0, TTL 64, port 4789). */
export function vxlanLayers(
  outer: { srcMac?: string; dstMac?: string; src: string; dst: string; srcPort?: number; dstPort?: number; vni: number },
): LayerSpec[] {
  return [
    { type: 'eth', src: outer.srcMac, dst: outer.dstMac },
    { type: 'ipv4', src: outer.src, dst: outer.dst },
    { type: 'udp', srcPort: outer.srcPort ?? 49152, dstPort: outer.dstPort ?? 4789 },
    { type: 'vxlan', vni: outer.vni },
  ];
}
