/** Builders -> parser round trips, golden wire bytes, checksums, and robustness on random bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChecksumStatus, PacketView, ParseError, buildFrame, computeL4Checksum, csumUpdate16, csumUpdate32, ipv6ToString,
  packetFields, parseIpv6, parsePacket, udpCsumUpdate16, udpCsumUpdate32, verifyIpv4Header, verifyL4, type LayerSpec,
} from '../../src/packet/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u8 = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function parse(frame: Uint8Array, view = new PacketView(), linkType = 1): PacketView {
  parsePacket(view, frame, 0, frame.length, frame.length, linkType);
  return view;
}

describe('golden wire bytes', () => {
  it('Eth/IPv4/ICMP echo matches a hand-checked frame (RFC 1071 checksums)', () => {
    const f = buildFrame([
      { type: 'eth', src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      { type: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', id: 1, ttl: 64 },
      { type: 'icmp4', icmpType: 8, id: 0x1234, seq: 1 },
    ], u8('6162636465666768'));
    // Checksums verified with tshark 4.0 (-o ip.check_checksum:TRUE: ip.checksum 0x66d6 Good, icmp.checksum 0x5435 Good).
    expect(hex(f)).toBe('02000000000202000000000108004500002400010000400166d60a0000010a00000208005435123400016162636465666768');
  });

  it('Eth/IPv6+HBH/TCP+timestamps and Eth/IPv4/UDP/VXLAN frames match tshark-verified bytes', () => {
    const g = buildFrame([
      { type: 'eth' }, { type: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', extensions: [{ type: 0 }] },
      { type: 'tcp', srcPort: 40000, dstPort: 80, seq: 1, flags: 0x18, timestamp: [5, 6] },
    ], new TextEncoder().encode('hello'));
    // tshark: tcp.checksum 0x3bce Good.
    expect(hex(g)).toBe('02000000000202000000000186dd60000000002d004020010db800000000000000000000000120010db8000000000000000000000002'
      + '06000104000000009c40005000000001000000008018ffff3bce0000080a0000000500000006000068656c6c6f');
    const h = buildFrame([
      { type: 'eth' }, { type: 'ipv4', src: '192.168.0.1', dst: '192.168.0.2' }, { type: 'udp', srcPort: 5000, dstPort: 4789 },
      { type: 'vxlan', vni: 4096 }, { type: 'eth' }, { type: 'ipv4', src: '10.1.1.1', dst: '10.1.1.2' }, { type: 'udp', srcPort: 1, dstPort: 53 },
    ], new TextEncoder().encode('xyz'));
    // tshark: ip.checksum 0xf948,0x64ca Good; udp.checksum 0x59f1,0xf723 Good; vxlan.vni 4096.
    expect(hex(h)).toBe('020000000002020000000001080045000051000000004011f948c0a80001c0a80002138812b5003d59f10800000000100000'
      + '02000000000202000000000108004500001f00000000401164ca0a0101010a01010200010035000bf72378797a');
  });

  it('UDP checksum of 0 is sent as 0xffff; checksum=false sends 0', () => {
    const base: LayerSpec[] = [{ type: 'ipv4', src: '0.0.0.0', dst: '0.0.0.0' }, { type: 'udp', srcPort: 0, dstPort: 0 }];
    // Choose a 2-byte payload that makes the sum 0xffff: checksum computes to 0 and must go out as 0xffff.
    const probe = buildFrame(base, u8('0000'));
    const c = (probe[26] << 8) | probe[27];
    const fix = c; // adding the complement of the sum makes the sum 0xffff, i.e. a computed checksum of 0
    const f = buildFrame(base, u8(fix.toString(16).padStart(4, '0')));
    expect((f[26] << 8) | f[27]).toBe(0xffff);
    const v = parse(f, new PacketView(), 101);
    expect(verifyL4(f, v.layers[0])).toBe(ChecksumStatus.GOOD);
    const g = buildFrame([base[0], { type: 'udp', srcPort: 1, dstPort: 2, checksum: false }]);
    expect(verifyL4(g, parse(g, new PacketView(), 101).layers[0])).toBe(ChecksumStatus.NOT_CHECKABLE);
  });

  it('VXLAN frame parses to two layers with tshark fields', () => {
    const inner: LayerSpec[] = [
      { type: 'eth', src: '0a:00:00:00:00:01', dst: '0a:00:00:00:00:02' },
      { type: 'ipv4', src: '10.244.1.5', dst: '10.244.2.9' },
      { type: 'tcp', srcPort: 40000, dstPort: 8080, flags: 0x012, seq: 1, ack: 2, mss: 1410, wscale: 7, sackPermitted: true, timestamp: [10, 20] },
    ];
    const f = buildFrame([
      { type: 'eth', src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      { type: 'ipv4', src: '192.168.0.1', dst: '192.168.0.2' },
      { type: 'udp', srcPort: 50000, dstPort: 8472 },
      { type: 'vxlan', vni: 4096 },
      ...inner,
    ]);
    const v = parse(f);
    expect(v.error).toBe(0);
    expect(v.layerCount).toBe(2);
    const fl = packetFields(v);
    expect(fl['ip.src']).toEqual(['192.168.0.1', '10.244.1.5']);
    expect(fl['vxlan.vni']).toBe('4096');
    expect(fl['tcp.flags']).toBe('0x0012');
    const L = v.layers[1];
    expect([L.tcpMss, L.tcpWscale, L.tcpTsVal, L.tcpTsEcr, L.tcpOptMask]).toEqual([1410, 7, 10, 20, 15]);
    expect(verifyL4(f, L)).toBe(ChecksumStatus.GOOD);
    expect(verifyL4(f, v.layers[0])).toBe(ChecksumStatus.GOOD);
    expect(verifyIpv4Header(f, v.layers[0])).toBe(ChecksumStatus.GOOD);
    // tshark decodes only 4789: with that port set the inner frame is not parsed.
    const t = parse(f, new PacketView({ vxlanPorts: [4789] }));
    expect(t.layerCount).toBe(1);
  });

  it('VXLAN reserved bits: Linux-strict error, Wireshark-lenient parse', () => {
    const f = buildFrame([
      { type: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2' }, { type: 'udp', srcPort: 1, dstPort: 4789 },
      { type: 'vxlan', vni: 7, flags: 0x0c }, { type: 'eth' }, { type: 'raw', bytes: new Uint8Array(4) },
    ]);
    expect(parse(f, new PacketView(), 101).error).toBe(ParseError.UNKNOWN_VXLAN_FLAGS);
    expect(parse(f, new PacketView({ vxlanStrictFlags: false }), 101).layerCount).toBe(2);
  });

  it('ICMP error quotes the offending header as the next layer', () => {
    const quoted = buildFrame([{ type: 'ipv4', src: '10.0.0.2', dst: '10.96.0.10' }, { type: 'udp', srcPort: 5353, dstPort: 53 }], new Uint8Array(30)).subarray(0, 28);
    const f = buildFrame([{ type: 'eth' }, { type: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, { type: 'icmp4', icmpType: 3, code: 3 }], quoted);
    const v = parse(f);
    expect(v.error).toBe(0);
    expect(v.layerCount).toBe(2);
    expect(v.layers[1].dstPort).toBe(53);
    expect(packetFields(v)['ip.src']).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('Ethernet padding after the IP total length is not payload', () => {
    const f = buildFrame([{ type: 'eth' }, { type: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8' }, { type: 'tcp', srcPort: 1, dstPort: 2, flags: 0x10 }]);
    const padded = new Uint8Array(60);
    padded.set(f);
    const v = parse(padded);
    expect(v.error).toBe(0);
    expect(v.layers[0].payloadLength).toBe(0);
    expect(verifyL4(padded, v.layers[0])).toBe(ChecksumStatus.GOOD);
  });

  it('IPv6 text per RFC 5952', () => {
    for (const [a, b] of [
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0db8::0001', '2001:db8::1'], ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'], ['fe80:0:0:0:0:0:0:0', 'fe80::'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
      // The rest checked against tshark 4.0's ipv6.src for frames built with these addresses.
      ['::10.1.2.3', '::10.1.2.3'], ['::0.0.1.2', '::102'], ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], ['0:0:1::', '0:0:1::'],
      ['::ffff:0:1.2.3.4', '::ffff:0:102:304'], ['64:ff9b::1.2.3.4', '64:ff9b::102:304'], ['::1:2:3:4:5:6', '::1:2:3:4:5:6'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ]) expect(ipv6ToString(parseIpv6(a), 0)).toBe(b);
  });

  it('packetFields gives the tshark field set for a tagged TCP SYN-ACK', () => {
    const f = buildFrame([
      { type: 'eth', src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', vlans: [{ id: 100 }] },
      { type: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', ttl: 63, id: 0x1234 },
      { type: 'tcp', srcPort: 80, dstPort: 40000, seq: 4000000000, flags: 0x012 },
    ]);
    expect(packetFields(parse(f))).toEqual({
      'frame.len': '58', 'frame.cap_len': '58', 'eth.dst': '02:00:00:00:00:02', 'eth.src': '02:00:00:00:00:01',
      'eth.type': '0x8100', 'vlan.id': '100', 'vlan.etype': '0x0800', 'ip.src': '10.0.0.1', 'ip.dst': '10.0.0.2',
      'ip.proto': '6', 'ip.ttl': '63', 'ip.id': '0x1234', 'ip.len': '40', 'tcp.srcport': '80', 'tcp.dstport': '40000',
      'tcp.seq_raw': '4000000000', 'tcp.flags': '0x0012',
    });
    const cut = parse(f.subarray(0, 45), new PacketView()); // 7 bytes of TCP: ports only
    expect(packetFields(cut)['dpemu.error']).toBe('TCP_TRUNCATED');
    expect(packetFields(cut)['tcp.dstport']).toBe('40000');
  });

  it('an empty frame is PACKET_TOO_SHORT on every link type', () => {
    for (const lt of [0, 1, 101, 113, 228, 229, 276]) expect(parse(new Uint8Array(0), new PacketView(), lt).error).toBe(ParseError.PACKET_TOO_SHORT);
  });
});

const port = fc.integer({ min: 0, max: 65535 });
const ip4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const ip6 = fc.array(fc.nat(65535), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
const payload = fc.uint8Array({ maxLength: 64 });

describe('property: build -> parse round trip', () => {
  it('Eth(+VLAN)/IPv4/TCP fields equal', () => {
    fc.assert(fc.property(ip4, ip4, port, port, fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xfff), fc.nat(255),
      fc.array(fc.nat(4095), { maxLength: 2 }), payload, (s, d, sp, dp, seq, ack, flags, ttl, vlans, pl) => {
        const f = buildFrame([
          { type: 'eth', vlans: vlans.map((id, k) => ({ id, tpid: k === 0 && vlans.length === 2 ? 0x88a8 : 0x8100 })) },
          { type: 'ipv4', src: s, dst: d, ttl }, { type: 'tcp', srcPort: sp, dstPort: dp, seq, ack, flags, mss: 1460 },
        ], pl);
        const v = parse(f);
        const L = v.layers[0];
        expect(v.error).toBe(0);
        expect(packetFields(v)['ip.src']).toBe(s);
        expect(packetFields(v)['ip.dst']).toBe(d);
        expect([L.srcPort, L.dstPort, L.tcpSeq, L.tcpAck, L.tcpFlags, L.ipTtl, L.tcpMss]).toEqual([sp, dp, seq, ack, flags, ttl, 1460]);
        expect(Array.from(L.vlanId.subarray(0, L.vlanCount))).toEqual(vlans);
        expect(L.payloadLength).toBe(pl.length);
        expect(verifyL4(f, L)).toBe(ChecksumStatus.GOOD);
        expect(verifyIpv4Header(f, L)).toBe(ChecksumStatus.GOOD);
      }));
  });

  it('IPv6 (+ext headers)/UDP and ICMPv6 fields equal', () => {
    fc.assert(fc.property(ip6, ip6, port, port, fc.subarray([0, 43, 60] as const), payload, fc.boolean(), (s, d, sp, dp, exts, pl, icmp) => {
      const l4: LayerSpec = icmp ? { type: 'icmp6', icmpType: 128, id: sp, seq: dp } : { type: 'udp', srcPort: sp, dstPort: dp === 4789 || dp === 8472 || dp === 6081 ? 53 : dp };
      const f = buildFrame([{ type: 'eth' }, { type: 'ipv6', src: s, dst: d, extensions: exts.map((t) => ({ type: t })) }, l4], pl);
      const v = parse(f);
      const L = v.layers[0];
      expect(v.error).toBe(0);
      expect(packetFields(v)['ipv6.src']).toBe(ipv6ToString(parseIpv6(s), 0));
      expect(L.ipProto).toBe(icmp ? 58 : 17);
      if (icmp) expect([L.icmpType, L.icmpId, L.icmpSeq]).toEqual([128, sp, dp]);
      else expect(L.srcPort).toBe(sp);
      expect(L.payloadLength).toBe(pl.length);
      expect(verifyL4(f, L)).toBe(ChecksumStatus.GOOD);
    }));
  });

  it('GENEVE with options carries an inner frame', () => {
    fc.assert(fc.property(fc.nat(0xffffff), fc.nat(10), ip4, (vni, nopt, inner) => {
      const f = buildFrame([
        { type: 'eth' }, { type: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2' }, { type: 'udp', srcPort: 1, dstPort: 6081 },
        { type: 'geneve', vni, options: new Uint8Array(nopt * 4) }, { type: 'eth' }, { type: 'ipv4', src: inner, dst: '9.9.9.9' },
        { type: 'udp', srcPort: 3, dstPort: 4 },
      ]);
      const v = parse(f);
      expect(v.error).toBe(0);
      expect(v.layers[0].vni).toBe(vni);
      expect(v.layers[0].geneveOptLen).toBe(nopt * 4);
      expect(packetFields(v)['ip.src']).toEqual(['1.1.1.1', inner]);
    }));
  });
});

describe('property: robustness', () => {
  it('random bytes on every link type never throw', () => {
    const view = new PacketView();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0, 1, 101, 108, 113, 228, 229, 239, 276, 999), (b, lt) => {
      parsePacket(view, b, 0, b.length, b.length, lt);
      packetFields(view);
      expect(view.error === 0 || view.errorLayer >= 0).toBe(true);
    }), { numRuns: 3000 });
  });

  it('truncations of valid frames never throw; snaplen cuts inside the payload are not errors', () => {
    const f = buildFrame([
      { type: 'eth', vlans: [{ id: 5 }] }, { type: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2', options: new Uint8Array([1, 1, 1, 0]) },
      { type: 'udp', srcPort: 9, dstPort: 4789 }, { type: 'vxlan', vni: 1 }, { type: 'eth' },
      { type: 'ipv6', src: '::1', dst: '::2', extensions: [{ type: 0 }, { type: 44, mf: true }] }, { type: 'tcp', srcPort: 1, dstPort: 2, timestamp: [1, 2] },
    ], new Uint8Array(40));
    const full = parse(f);
    expect(full.error).toBe(0);
    const payloadStart = full.layers[1].payloadOffset;
    const view = new PacketView();
    fc.assert(fc.property(fc.nat(f.length), (cut) => {
      parsePacket(view, f, 0, cut, f.length, 1);
      if (cut >= payloadStart) expect(view.error).toBe(0);
      else expect(view.error).not.toBe(0);
    }), { numRuns: 500 });
  });

  it('a buffer shorter than caplen is clamped, not read past', () => {
    const view = new PacketView();
    const b = new Uint8Array(10);
    expect(parsePacket(view, b, 4, 100, 100, 1)).toBe(ParseError.ETH_TRUNCATED);
  });
});

describe('property: incremental checksum (RFC 1624) equals recomputation', () => {
  it('rewriting addresses and ports of TCP/UDP over IPv4', () => {
    fc.assert(fc.property(ip4, ip4, port, port, ip4, port, fc.boolean(), payload, (s, d, sp, dp, ns, np, udp, pl) => {
      const f = buildFrame([{ type: 'ipv4', src: s, dst: d }, udp ? { type: 'udp', srcPort: sp, dstPort: dp } : { type: 'tcp', srcPort: sp, dstPort: dp }], pl);
      const v = parse(f, new PacketView({ vxlanPorts: [] }), 101);
      const L = v.layers[0];
      const old32 = L.src4;
      const newIp = ns.split('.').map(Number);
      f.set(newIp, L.srcAddrOffset);
      const new32 = ((newIp[0] << 24) | (newIp[1] << 16) | (newIp[2] << 8) | newIp[3]) >>> 0;
      f[L.l4Offset] = np >> 8; f[L.l4Offset + 1] = np & 255;
      const c = udp
        ? udpCsumUpdate16(udpCsumUpdate32(L.l4Checksum, old32, new32), sp, np)
        : csumUpdate16(csumUpdate32(L.l4Checksum, old32, new32), sp, np);
      const ipc = csumUpdate32(L.ipChecksum, old32, new32);
      const v2 = parse(f, new PacketView({ vxlanPorts: [] }), 101);
      // Equal as one's-complement values (0x0000 and 0xffff are both zero).
      const norm = (x: number): number => (x === 0xffff ? 0 : x);
      expect(norm(c)).toBe(norm(computeL4Checksum(f, v2.layers[0])));
      f[10] = ipc >> 8; f[11] = ipc & 255;
      f[L.l4Offset + (udp ? 6 : 16)] = c >> 8; f[L.l4Offset + (udp ? 7 : 17)] = c & 255;
      const v3 = parse(f, new PacketView({ vxlanPorts: [] }), 101);
      expect(verifyIpv4Header(f, v3.layers[0])).toBe(ChecksumStatus.GOOD);
      expect(verifyL4(f, v3.layers[0])).toBe(ChecksumStatus.GOOD);
    }), { numRuns: 1000 });
  });

  it('UDP checksum 0 (none) stays 0 under rewrite', () => {
    expect(udpCsumUpdate16(0, 1, 2)).toBe(0);
  });
});
