#include "stages.h"

#include <algorithm>
#include <cstring>

#include "drop_reasons.h"
#include "wire.h"

namespace dpemu {
namespace {

constexpr int64_t kEthHlen = 14;
constexpr int32_t kVxlanOverhead = 14 + 20 + 8 + 8;
constexpr uint32_t kEthertypeIpv4 = 0x0800, kEthertypeArp = 0x0806, kEthertypeIpv6 = 0x86dd;

inline void dropPacket(const PoolView& p, const Call& c, int32_t s, uint16_t reason) {
  p.next[s] = kNextDrop;
  p.drop[s] = reason;
  p.verdict[s] = kVerdictDropped;
  if (reason < c.dropsLen) c.drops[reason] += 1;
}

inline uint64_t macOf(uint32_t hi16, uint32_t lo32) { return (uint64_t(hi16) << 32) | lo32; }
inline uint64_t macAt(const uint8_t* b, int64_t o) { return macOf(rd16(b, o), rd32(b, o + 2)); }
inline uint32_t be16(uint16_t v) { return rd16(reinterpret_cast<const uint8_t*>(&v), 0); }
inline uint32_t be32(uint32_t v) { return rd32(reinterpret_cast<const uint8_t*>(&v), 0); }
inline uint64_t deviceMac(const native_device_v1& d) { return macOf(be16(d.mac_hi), be32(d.mac_lo)); }

// foldSum (wire.h) without the loop: the same result for every s < 2^62 (a value in [0, 0xffff] congruent
// to s modulo 0xffff, zero only for s == 0; each step keeps both).
inline uint32_t foldFast(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return uint32_t(s);
}
inline uint32_t finishFast(uint64_t s) { return ~foldFast(s) & 0xffff; }

// onesSum (wire.h) computed 8 bytes at a time: the same unfolded integer, sum of the big-endian 16-bit
// words (an odd length padded with a zero byte) plus `initial`. A little-endian load holds the bytes at
// even offsets in the low byte of each 16-bit lane and those at odd offsets in the high byte; each is
// summed in its own lanes (256 loads at most between flushes: 256 * 255 fits 16 bits), and the total
// is 256 * (bytes at even offsets) + (bytes at odd offsets), which is exactly the word sum.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "onesSumFast reads little-endian words");
inline uint64_t laneSum(uint64_t v) { return (v & 0xffff) + ((v >> 16) & 0xffff) + ((v >> 32) & 0xffff) + (v >> 48); }
inline uint64_t onesSumFast(const uint8_t* b, int64_t off, int64_t len, uint64_t initial = 0) {
  constexpr uint64_t kLow = 0x00ff00ff00ff00ffull;
  const uint8_t* q = b + off;
  uint64_t even = 0, odd = 0;
  while (len >= 8) {
    int64_t blocks = len >> 3;
    if (blocks > 256) blocks = 256;
    len -= blocks << 3;
    uint64_t ev = 0, od = 0;
    for (int64_t k = 0; k < blocks; k++) {
      uint64_t w;
      std::memcpy(&w, q, 8);
      q += 8;
      ev += w & kLow;
      od += (w >> 8) & kLow;
    }
    even += laneSum(ev);
    odd += laneSum(od);
  }
  for (int64_t k = 0; k < len; k++) {
    if (k & 1) odd += q[k];
    else even += q[k];
  }
  return initial + (even << 8) + odd;
}
// For a sum that only goes through finishChecksum: a value congruent to onesSum(b, off, len, initial)
// modulo 0xffff and zero only when that is zero, so finishChecksum gives the same checksum. The bytes
// are summed as little-endian 32-bit words (one's complement sums do not depend on byte order, RFC 1071:
// the folded little-endian sum, byte-swapped, is congruent to the big-endian one).
inline uint64_t onesSumForChecksum(const uint8_t* b, int64_t off, int64_t len, uint64_t initial) {
  const uint8_t* q = b + off;
  // Little-endian 64-bit words with end-around carry (2^64 = 1 modulo 0xffff): four 16-bit words each.
  uint64_t acc = 0, carry = 0;
  for (; len >= 16; len -= 16, q += 16) {
    uint64_t w0, w1;
    std::memcpy(&w0, q, 8);
    std::memcpy(&w1, q + 8, 8);
    acc += w0;
    carry += acc < w0;
    acc += w1;
    carry += acc < w1;
  }
  uint64_t tail = 0;  // < 2^32 + 2^16 + 2^8
  if (len >= 8) { uint64_t w; std::memcpy(&w, q, 8); tail += (w & 0xffffffffu) + (w >> 32); q += 8; len -= 8; }
  if (len >= 4) { uint32_t w; std::memcpy(&w, q, 4); tail += w; q += 4; len -= 4; }
  if (len >= 2) { uint16_t w; std::memcpy(&w, q, 2); tail += w; q += 2; len -= 2; }
  if (len > 0) tail += q[0];  // the zero-padded last word: its first byte is the low one little-endian
  const uint32_t le = foldFast((acc & 0xffffffffu) + (acc >> 32) + carry + tail);
  return initial + (((le & 0xff) << 8) | (le >> 8));
}

// ipv4HeaderChecksum (wire.h), with onesSumFast.
inline uint32_t ipv4HeaderChecksumFast(const uint8_t* b, int64_t off, int64_t ihl) {
  return finishFast(onesSumFast(b, off, ihl) - rd16(b, off + 10));
}


// A slot the TS stage must handle: its frame is in a private buffer the addon does not see.
inline bool privateBuffer(const PoolView& p, int32_t s) { return p.ownBuf[s] != 0; }

}  // namespace

// src/stages/ethernet-input.ts
int32_t ethernetInput(const PoolView& p, const NodeView& node, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    for (int32_t j = i == 0 ? 0 : i + kPacketAhead; j <= i + kPacketAhead && j < c.n; j++) {
      const int32_t t = c.slots[j];
      prefetchSlot(p, t, p.start[t], int64_t(p.start[t]) + 14 + 20);  // this stage and ip4-input
    }
    const int32_t s = c.slots[i];
    const int32_t dev = p.device[s];
    if (privateBuffer(p, s) || dev < 0 || dev >= node.deviceCount) { c.handBack[i] = 1; left++; continue; }
    c.handBack[i] = 0;
    const uint8_t* b = p.slot(s);
    const int64_t st = p.start[s];
    if ((b[st] & 1) == 0 && macAt(b, st) != deviceMac(node.devices[dev])) {
      dropPacket(p, c, s, DROP_NOT_FOR_THIS_HOST);
      continue;
    }
    const uint32_t type = rd16(b, st + 12);
    if (type == kEthertypeIpv4) p.next[s] = 1;
    else if (type == kEthertypeArp) p.next[s] = 0;
    else dropPacket(p, c, s, type == kEthertypeIpv6 ? DROP_UNSUPPORTED_L3_PROTOCOL : DROP_UNSUPPORTED_L2_PROTOCOL);
  }
  return left;
}

// src/stages/ip4-input.ts
int32_t ip4Input(const PoolView& p, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    if (privateBuffer(p, s)) { c.handBack[i] = 1; left++; continue; }
    c.handBack[i] = 0;
    uint8_t* b = p.slot(s);
    const int64_t st = p.start[s];
    const int64_t l3 = st + kEthHlen;
    p.l3[s] = int32_t(l3);
    const int64_t end = st + p.len[s];
    const int64_t ihl = int64_t(b[l3] & 0x0f) * 4;
    const int64_t total = rd16(b, l3 + 2);
    const bool truncated = p.wireLen[s] > p.len[s];
    if (end - l3 < 20 || (b[l3] >> 4) != 4 || ihl < 20 || l3 + ihl > end || total < ihl || (l3 + total > end && !truncated)) {
      dropPacket(p, c, s, DROP_INVALID_PACKET_DROPPED);
      continue;
    }
    if (ipv4HeaderChecksumFast(b, l3, ihl) != rd16(b, l3 + 10)) {
      dropPacket(p, c, s, DROP_IPV4_HEADER_CHECKSUM);
      continue;
    }
    p.aux2[s] = 0;
    p.l4[s] = (rd16(b, l3 + 6) & 0x1fff) == 0 ? int32_t(l3 + ihl) : -1;
    if (l3 + total < end) {
      p.len[s] = int32_t(l3 + total - st);
      p.wireLen[s] = p.len[s];
    }
    p.next[s] = 0;
  }
  return left;
}

// src/stages/ip4-forward.ts: TTL expiry and DF/MTU need an ICMP error built by the TS stage.
int32_t ip4Forward(const PoolView& p, const NodeView& node, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    const int64_t l3 = p.l3[s];
    const int32_t dev = p.aux0[s];
    if (privateBuffer(p, s) || l3 < 0 || l3 + 20 > p.slotBytes || dev < 0 || dev >= node.deviceCount) {
      c.handBack[i] = 1; left++; continue;
    }
    uint8_t* b = p.slot(s);
    const uint32_t ttl = b[l3 + 8];
    const uint32_t total = rd16(b, l3 + 2);
    if (ttl <= 1 || (total > node.devices[dev].mtu && (b[l3 + 6] & 0x40) != 0)) {
      c.handBack[i] = 1; left++; continue;
    }
    c.handBack[i] = 0;
    const uint32_t old = rd16(b, l3 + 8);
    b[l3 + 8] = uint8_t(ttl - 1);
    wr16(b, l3 + 10, csumUpdate16(rd16(b, l3 + 10), old, rd16(b, l3 + 8)));
    p.next[s] = 0;
  }
  return left;
}

// ecnEncap in src/stages/vxlan.ts: the kernel's INET_ECN_encapsulate(0, inner TOS).
static inline uint32_t ecnEncap(uint32_t innerTos) {
  const uint32_t ecn = innerTos & 3;
  return ecn == 3 ? 2 : ecn;
}

// vxlanSourcePort in src/stages/vxlan.ts.
static uint32_t vxlanSourcePort(const uint8_t* b, int64_t l3, int64_t l4, uint32_t seed) {
  const uint32_t proto = b[l3 + 9];
  const uint32_t src = rd32(b, l3 + 12);
  const uint32_t dst = rd32(b, l3 + 16);
  const bool fragment = (rd16(b, l3 + 6) & 0x3fff) != 0;
  uint32_t h;
  if (!fragment && proto == 6 && l4 >= 0) {
    h = hash3(src, dst, rd32(b, l4) ^ proto, seed);
  } else {
    uint32_t p1 = 0, p2 = 0;
    if (!fragment && proto == 17 && l4 >= 0) {
      p1 = rd16(b, l4);
      p2 = rd16(b, l4 + 2);
    }
    const bool lo = src < dst || (src == dst && p1 <= p2);
    const uint32_t ports = lo ? ((p1 << 16) | p2) : ((p2 << 16) | p1);
    h = hash3(lo ? src : dst, lo ? dst : src, ports ^ proto ^ 0x80000000u, seed);
  }
  return 32768u + uint32_t((uint64_t(h) * (61000u - 32768u)) >> 32);
}

int32_t vxlan4EncapCheck(const PoolView& p, const Call& c) {
  for (int32_t i = 0; i < c.n; i++) {
    const int32_t s = c.slots[i];
    // pool.push would throw for lack of headroom: the TS stage raises it.
    if (privateBuffer(p, s) || p.start[s] < kVxlanOverhead || p.l3[s] < 0 || p.l3[s] + 20 > p.slotBytes) return -1;
  }
  return 0;
}

// src/stages/vxlan.ts vxlan4Encap (capture observation is done by the caller, before this runs).
int32_t vxlan4Encap(const PoolView& p, const NodeView& node, const Call& c, uint32_t* ipId) {
  if (vxlan4EncapCheck(p, c) < 0) return -1;
  const native_device_v1& nic = node.devices[node.nic];
  for (int32_t i = 0; i < c.n; i++) {
    // The outer headers go to headroom no stage touched (a cold line); the checksum reads the frame.
    for (int32_t j = i == 0 ? 0 : i + kPacketAhead; j <= i + kPacketAhead && j < c.n; j++) {
      const int32_t t = c.slots[j];
      prefetchSlot(p, t, int64_t(p.start[t]) - kVxlanOverhead, p.start[t]);
      prefetchSlot(p, t, p.start[t], int64_t(p.start[t]) + p.len[t]);
    }
    const int32_t s = c.slots[i];
    c.handBack[i] = 0;
    uint8_t* b = p.slot(s);
    const int64_t inner = p.start[s];
    const uint64_t dmac = macAt(b, inner);
    const native_fdb_entry_v1* e = nullptr;
    for (int32_t k = 0; k < node.fdbCount; k++) {
      if (macOf(be16(node.fdb[k].mac_hi), be32(node.fdb[k].mac_lo)) == dmac) { e = &node.fdb[k]; break; }
    }
    if (e == nullptr) { dropPacket(p, c, s, DROP_NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT); continue; }
    const uint32_t outerHi = be16(e->outer_mac_hi), outerLo = be32(e->outer_mac_lo);
    if (outerHi == 0 && outerLo == 0) { dropPacket(p, c, s, DROP_HOST_UNREACHABLE); continue; }
    const uint32_t remote = be32(e->remote);
    const uint32_t sport = vxlanSourcePort(b, p.l3[s], p.l4[s], node.hashSeed);
    const int32_t innerLen = p.len[s];
    const int64_t st = p.start[s] - kVxlanOverhead;
    p.start[s] = int32_t(st);
    p.len[s] += kVxlanOverhead;
    p.wireLen[s] += kVxlanOverhead;
    wr16(b, st, outerHi); wr32(b, st + 2, outerLo);
    wr16(b, st + 6, be16(nic.mac_hi)); wr32(b, st + 8, be32(nic.mac_lo));
    wr16(b, st + 12, 0x0800);
    const int64_t ip = st + kEthHlen;
    const uint32_t ipTotal = uint32_t(20 + 8 + 8 + innerLen) & 0xffff;
    const uint32_t id = *ipId & 0xffff;  // wr16 keeps the low 16 bits
    *ipId = (*ipId + 1) & 0xffff;
    const uint32_t src = node.nodeIp;
    const uint32_t tos = ecnEncap(b[p.l3[s] + 1]);  // read before the outer header: l3 is still the inner one
    b[ip] = 0x45;
    b[ip + 1] = uint8_t(tos);
    wr16(b, ip + 2, ipTotal);
    wr16(b, ip + 4, id);
    wr16(b, ip + 6, 0);
    b[ip + 8] = 64;
    b[ip + 9] = 17;
    wr32(b, ip + 12, src);
    wr32(b, ip + 16, remote);
    // ipv4HeaderChecksum over the 20 bytes just written (checksum field zero): the same word sum, from the values.
    const uint64_t addrWords = (src >> 16) + (src & 0xffff) + (remote >> 16) + (remote & 0xffff);
    wr16(b, ip + 10, finishFast(0x4500u + tos + ipTotal + id + 0x4011u + addrWords));
    const int64_t udp = ip + 20;
    const uint32_t udpLen = uint32_t(8 + 8 + innerLen);
    const uint32_t vniWord = node.vni << 8;
    wr16(b, udp, sport);
    wr16(b, udp + 2, node.port);
    wr16(b, udp + 4, udpLen);
    wr16(b, udp + 6, 0);
    wr32(b, udp + 8, 0x08000000u);
    wr32(b, udp + 12, vniWord);
    if (node.udpCsum) {
      // onesSum over the UDP and VXLAN headers just written (as 16-bit words, checksum zero), then the inner
      // frame from memory; plus pseudoSum4's words. The same checksum as the TS stage's.
      const uint64_t pseudo = addrWords + 17 + (udpLen & 0xffff) + (udpLen >> 16);
      const uint64_t hdr = (sport & 0xffff) + (node.port & 0xffff) + (udpLen & 0xffff) + 0x0800u + (vniWord >> 16) + (vniWord & 0xffff);
      const uint32_t cs = finishFast(onesSumForChecksum(b, udp + 16, innerLen, pseudo + hdr));
      wr16(b, udp + 6, cs == 0 ? 0xffff : cs);
    }
    p.l3[s] = int32_t(ip);
    p.l4[s] = int32_t(udp);
    p.aux0[s] = node.nic;
    p.aux1[s] = int32_t(remote);
    p.device[s] = node.nic;
    p.next[s] = 0;
  }
  return 0;
}

// The part of parsePacket (src/packet/parse.ts) vxlan4-decap needs: L3/L4 offsets of a plain inner
// Ethernet/IPv4 frame that parses without error. Anything else (VLAN, ARP, IPv6, nested tunnels,
// ICMP errors quoting a datagram, any parse error) returns false and goes to the TS stage, which
// runs the full parser. `end` is both the captured and the wire end (a frame a snaplen cut goes to TS
// before this).
static bool parseInnerPlain(const uint8_t* b, int64_t off, int64_t end, uint32_t vxlanPort, int32_t* l3, int32_t* l4) {
  if (end - off < 14) return false;
  if (rd16(b, off + 12) != kEthertypeIpv4) return false;
  const int64_t ipo = off + 14;
  if (end - ipo < 20) return false;
  const uint32_t b0 = b[ipo];
  if ((b0 >> 4) != 4) return false;
  const int64_t ihl = int64_t(b0 & 15) << 2;
  const int64_t total = rd16(b, ipo + 2);
  if (ihl < 20 || total == 0 || total < ihl) return false;
  if (ipo + total > end) return false;  // BAD_IPV4_TOTAL_LENGTH: TS parse
  const int64_t ipEnd = ipo + total;
  const uint32_t ff = rd16(b, ipo + 6);
  const bool mf = (ff >> 13) & 1;
  const uint32_t fragOff = (ff & 0x1fff) << 3;
  const uint32_t proto = b[ipo + 9];
  const int64_t p = ipo + ihl;
  *l3 = int32_t(ipo);
  if (fragOff != 0) { *l4 = -1; return true; }
  if (proto == 4 || proto == 41 || proto == 58) return false;
  const int64_t avail = ipEnd - p;
  if (proto == 6) {
    if (avail < 20) return false;
    const int64_t hl = int64_t(b[p + 12] >> 4) << 2;
    if (hl < 20 || p + hl > end || hl > avail) return false;
    *l4 = int32_t(p);
    return true;
  }
  if (proto == 17) {
    if (avail < 8 || mf) return false;
    const uint32_t dport = rd16(b, p + 2);
    const int64_t ulen = rd16(b, p + 4);
    if (ulen < 8 || p + ulen > end) return false;
    if (dport == vxlanPort || dport == 6081) return false;
    *l4 = int32_t(p);
    return true;
  }
  if (proto == 1) {
    if (avail < 8) return false;
    const uint32_t type = b[p];
    const bool isErr = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    if (isErr && avail > 8) return false;
    *l4 = int32_t(p);
    return true;
  }
  *l4 = -1;  // other protocols: not dissected, no L4 offset
  return true;
}

// src/stages/vxlan.ts vxlan4Decap (capture observation of the decapsulated frame by the caller).
int32_t vxlan4Decap(const PoolView& p, const NodeView& node, const Call& c) {
  int32_t left = 0;
  for (int32_t i = 0; i < c.n; i++) {
    for (int32_t j = i == 0 ? 0 : i + kPacketAhead; j <= i + kPacketAhead && j < c.n; j++) {
      const int32_t t = c.slots[j];
      prefetchSlot(p, t, p.l3[t], int64_t(p.start[t]) + p.len[t]);
    }
    const int32_t s = c.slots[i];
    const int64_t l3 = p.l3[s];
    const int64_t udp = p.l4[s];
    // A frame a capture's snaplen cut (wireLen > len) is checked against its wire length: TS does it.
    if (privateBuffer(p, s) || l3 < 0 || udp < 0 || udp + 16 > p.slotBytes || p.wireLen[s] != p.len[s]) { c.handBack[i] = 1; left++; continue; }
    uint8_t* b = p.slot(s);
    const int64_t udpLen = rd16(b, udp + 4);
    const int64_t end = int64_t(p.start[s]) + p.len[s];
    if (udpLen < 16 || udp + udpLen > end) {
      c.handBack[i] = 0;
      dropPacket(p, c, s, DROP_INVALID_PACKET_DROPPED);
      continue;
    }
    const uint32_t csum = rd16(b, udp + 6);
    // pseudoSum4(b, l3 + 12, l3 + 16, 17, udpLen): the address words, protocol and length.
    const uint64_t pseudo = uint64_t(rd16(b, l3 + 12)) + rd16(b, l3 + 14) + rd16(b, l3 + 16) + rd16(b, l3 + 18) + 17 +
                            (uint32_t(udpLen) & 0xffff) + (uint32_t(udpLen) >> 16);
    if (csum != 0 && finishFast(onesSumForChecksum(b, udp, udpLen, pseudo)) != 0) {
      c.handBack[i] = 0;
      dropPacket(p, c, s, DROP_INVALID_PACKET_DROPPED);
      continue;
    }
    const int64_t vx = udp + 8;
    const uint32_t flags = rd32(b, vx);
    const uint32_t vni = rd32(b, vx + 4) >> 8;
    if (flags != 0x08000000u || b[vx + 7] != 0) {
      c.handBack[i] = 0;
      dropPacket(p, c, s, DROP_INVALID_VXLAN_FLAGS);
      continue;
    }
    if (vni != node.vni || node.vxlanDev < 0) {
      c.handBack[i] = 0;
      dropPacket(p, c, s, DROP_INVALID_VNI);
      continue;
    }
    const int64_t innerStart = vx + 8;
    const int64_t innerEnd = std::min(end, udp + udpLen);
    int32_t il3 = -1, il4 = -1;
    if (!parseInnerPlain(b, innerStart, innerEnd, node.port, &il3, &il4)) { c.handBack[i] = 1; left++; continue; }
    c.handBack[i] = 0;
    p.start[s] = int32_t(innerStart);
    p.len[s] = int32_t(innerEnd - innerStart);
    p.wireLen[s] = p.len[s];
    p.l3[s] = il3;
    p.l4[s] = il4;
    p.device[s] = node.vxlanDev;
    p.next[s] = 0;
  }
  return left;
}

}  // namespace dpemu
