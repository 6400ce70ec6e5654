import { Drop } from '../engine/drop-reasons.js';
import { defineStage } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { macKey, neighbourKey } from '../dataplane/node-context.js';
import { finishChecksum, ipv4HeaderChecksum, onesSum, pseudoSum4 } from '../packet/checksum.js';
import { ipv4ToString, macToString } from '../packet/format.js';
import { parsePacket } from '../packet/parse.js';
import { parseErrorName } from '../packet/errors.js';
import { LinkType } from '../packet/view.js';
import { hash3 } from '../util/hash.js';
import { ETH_HLEN, IPPROTO_TCP, IPPROTO_UDP, rd16, rd32, wr16, wr32 } from '../dataplane/wire.js';
import { S } from './names.js';

/** Outer Ethernet + IPv4 + UDP + VXLAN (RFC 7348). */
export const VXLAN_OVERHEAD = 14 + 20 + 8 + 8;
/** ip_local_port_range as udp_flow_src_port uses it: [32768, 61000). */
const SPORT_MIN = 32768;
const SPORT_RANGE = 61000 - 32768;

/**
 * The UDP source port Linux gives a VXLAN packet: udp_flow_src_port() maps the skb's flow hash
 * into [32768, 60999] as ((u64)hash * range >> 32) + min. Which hash, as on the kernel test bed
 * (pcaps/README.md, "VXLAN outer UDP source port"):
 * - TCP: the socket's random txhash, carried by the skb across the veth: one port per connection
 *   and direction, different each way. dpemu hashes the 5-tuple in its direction.
 * - anything else (unconnected UDP, ICMP): the flow dissector's hash, which is symmetric
 *   (__flow_hash_consistentify orders addresses and ports): DNS query and reply share a port, so
 *   do echo request and reply; the ICMP echo id is not part of it (same port with a new id).
 * - fragments: the dissector stops at the IPv4 header of any fragment (no
 *   FLOW_DISSECTOR_F_PARSE_1ST_FRAG), so every fragment of a datagram gets the same port
 *   (kernel capture: both re-fragmented pieces 59656).
 * The kernel's seed is random per boot, so only the range and which packets share a port can be
 * compared with a capture; dpemu's seed is the scenario's.
 */
export function vxlanSourcePort(b: Uint8Array, l3: number, l4: number, seed: number): number {
  const proto = b[l3 + 9];
  const src = rd32(b, l3 + 12);
  const dst = rd32(b, l3 + 16);
  const fragment = (rd16(b, l3 + 6) & 0x3fff) !== 0;
  let h: number;
  if (!fragment && proto === IPPROTO_TCP && l4 >= 0) {
    h = hash3(src, dst, (rd32(b, l4) ^ proto) >>> 0, seed);
  } else {
    let p1 = 0;
    let p2 = 0;
    if (!fragment && proto === IPPROTO_UDP && l4 >= 0) {
      p1 = rd16(b, l4);
      p2 = rd16(b, l4 + 2);
    }
    const lo = src < dst || (src === dst && p1 <= p2);
    const ports = lo ? ((p1 << 16) | p2) : ((p2 << 16) | p1);
    // Marked so a symmetric hash never equals the TCP one for the same words.
    h = hash3(lo ? src : dst, lo ? dst : src, (ports ^ proto ^ 0x80000000) >>> 0, seed);
  }
  return SPORT_MIN + Math.floor((h * SPORT_RANGE) / 4294967296);
}

/**
 * The outer TOS of a VXLAN device with `tos 0` (iproute2's default): ip_tunnel_ecn_encap, i.e.
 * INET_ECN_encapsulate(0, inner TOS). The DSCP is not inherited; the ECN field is, except that CE
 * becomes ECT(0) (a congestion mark is not copied outward). Seen on this kernel: inner 0xc0 -> 0x00,
 * 0x01 -> 0x01, 0x02 -> 0x02, 0x03 -> 0x02, 0xc2 -> 0x02.
 */
export function ecnEncap(innerTos: number): number {
  const ecn = innerTos & 3;
  return ecn === 3 ? 2 : ecn;
}

/**
 * The VXLAN device transmits (vxlan_xmit): the FDB maps the inner destination MAC to the remote
 * VTEP; the outer headers are built as Linux builds them for an IPv4 VXLAN device: outer MACs from
 * the underlay neighbour, IPv4 TOS from the inner ECN bits (ecnEncap), DF clear, TTL 64, ID from the node's counter, UDP source
 * port from the flow hash, destination port from the device, UDP checksum computed when the
 * device has udpcsum (iproute2's default for IPv4), VXLAN flags 0x08 (I) and the VNI.
 */
export const vxlan4Encap = defineStage<NodeContext>({
  name: S.VXLAN4_ENCAP,
  next: [S.NF4_OUTPUT],
  drops: [Drop.NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT, Drop.HOST_UNREACHABLE],
  describe: 'VXLAN encapsulation (vxlan_xmit)',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    const tun = ctx.cluster.tunnel;
    const nic = ctx.devices.get(ctx.nic);
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const vx = ctx.devices.get(pool.device[s]);
      rt.observe(s, vx.id, 1);
      const b = pool.bufs[s];
      const inner = pool.start[s];
      const remote = ctx.fdb.get(macKey(b, inner));
      if (remote === undefined) {
        if (rt.tracing) rt.trace(s, vx.label, 'drop NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT', `no fdb entry for ${macToString(b, inner)} on ${vx.name}`);
        rt.drop(s, Drop.NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT);
        continue;
      }
      const outerMac = ctx.neighbours.get(neighbourKey(nic.id, remote));
      if (!outerMac) {
        rt.drop(s, Drop.HOST_UNREACHABLE);
        continue;
      }
      const sport = vxlanSourcePort(b, pool.l3[s], pool.l4[s], ctx.hashSeed);
      const tos = ecnEncap(b[pool.l3[s] + 1]);
      const innerLen = pool.len[s];
      const st = pool.push(s, VXLAN_OVERHEAD);
      b.set(outerMac, st);
      b.set(nic.mac, st + 6);
      wr16(b, st + 12, 0x0800);
      const ip = st + ETH_HLEN;
      b[ip] = 0x45;
      b[ip + 1] = tos;
      wr16(b, ip + 2, 20 + 8 + 8 + innerLen);
      wr16(b, ip + 4, ctx.ipId);
      ctx.ipId = (ctx.ipId + 1) & 0xffff;
      wr16(b, ip + 6, 0);
      b[ip + 8] = 64;
      b[ip + 9] = IPPROTO_UDP;
      wr16(b, ip + 10, 0);
      wr32(b, ip + 12, ctx.node.ip32);
      wr32(b, ip + 16, remote);
      wr16(b, ip + 10, ipv4HeaderChecksum(b, ip, 20));
      const udp = ip + 20;
      const udpLen = 8 + 8 + innerLen;
      wr16(b, udp, sport);
      wr16(b, udp + 2, tun.port);
      wr16(b, udp + 4, udpLen);
      wr16(b, udp + 6, 0);
      wr32(b, udp + 8, 0x08000000);
      wr32(b, udp + 12, (tun.vni << 8) >>> 0);
      if (tun.udpCsum) {
        const c = finishChecksum(onesSum(b, udp, udpLen, pseudoSum4(b, ip + 12, ip + 16, IPPROTO_UDP, udpLen)));
        wr16(b, udp + 6, c === 0 ? 0xffff : c);
      }
      pool.l3[s] = ip;
      pool.l4[s] = udp;
      pool.aux0[s] = nic.id;
      pool.aux1[s] = remote;
      pool.device[s] = nic.id;
      if (rt.tracing) rt.trace(s, vx.label, 'encap', `vxlan id ${tun.vni} ${ctx.node.ip}:${sport} -> ${ipv4ToString(remote)}:${tun.port} (fdb ${macToString(b, st + VXLAN_OVERHEAD)} dst ${ipv4ToString(remote)}; udpcsum ${tun.udpCsum ? 'on' : 'off'})`);
      rt.next(s, 0);
    }
  },
});

/**
 * vxlan_rcv: the outer UDP checksum (when present) must verify, the I flag must be set and every
 * other flag/reserved bit clear (Linux drops unknown flags), the VNI must be the device's; then
 * the outer headers are stripped and the inner frame is received on the VXLAN device.
 */
export const vxlan4Decap = defineStage<NodeContext>({
  name: S.VXLAN4_DECAP,
  next: [S.ETHERNET_INPUT],
  drops: [Drop.INVALID_VXLAN_FLAGS, Drop.INVALID_VNI, Drop.INVALID_PACKET_DROPPED, Drop.MALFORMED_FRAME],
  describe: 'VXLAN decapsulation (vxlan_rcv)',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    const tun = ctx.cluster.tunnel;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const udp = pool.l4[s];
      const udpLen = rd16(b, udp + 4);
      const end = pool.start[s] + pool.len[s];
      // A capture's snaplen may have cut the frame: its lengths are checked against the wire, and the bytes
      // that are not there cannot be checksummed (as ip4-input walks such a frame unverified).
      const missing = pool.wireLen[s] - pool.len[s];
      const udpEnd = udp + udpLen;
      if (udpLen < 16 || udpEnd > end + missing || udp + 16 > end) {
        if (rt.tracing) rt.trace(s, 'vxlan device', 'drop INVALID_PACKET_DROPPED', udp + 16 > end && udpLen >= 16 && udpEnd <= end + missing ? 'the capture cut the VXLAN header' : `UDP length ${udpLen} does not hold a VXLAN header and frame`);
        rt.drop(s, Drop.INVALID_PACKET_DROPPED);
        continue;
      }
      const csum = rd16(b, udp + 6);
      if (csum !== 0 && udpEnd <= end && finishChecksum(onesSum(b, udp, udpLen, pseudoSum4(b, l3 + 12, l3 + 16, IPPROTO_UDP, udpLen))) !== 0) {
        if (rt.tracing) rt.trace(s, 'vxlan device', 'drop INVALID_PACKET_DROPPED', `outer UDP checksum 0x${csum.toString(16).padStart(4, '0')} is wrong (UDP InCsumErrors)`);
        rt.drop(s, Drop.INVALID_PACKET_DROPPED);
        continue;
      }
      const vx = udp + 8;
      const flags = rd32(b, vx);
      const vni = rd32(b, vx + 4) >>> 8;
      if (flags !== 0x08000000 || (b[vx + 7] !== 0)) {
        if (rt.tracing) rt.trace(s, 'vxlan device', 'drop INVALID_VXLAN_FLAGS', `flags word 0x${flags.toString(16).padStart(8, '0')} (need 0x08000000)`);
        rt.drop(s, Drop.INVALID_VXLAN_FLAGS);
        continue;
      }
      if (vni !== tun.vni || ctx.vxlanDev < 0) {
        if (rt.tracing) rt.trace(s, 'vxlan device', 'drop INVALID_VNI', `VNI ${vni}; ${tun.deviceName} is VNI ${tun.vni}`);
        rt.drop(s, Drop.INVALID_VNI);
        continue;
      }
      // The inner frame ends where the UDP length says; when the capture cut it, what is missing stays missing
      // (the outer lengths of a frame dpemu encapsulated cover only the captured bytes: its own missing tail).
      const innerWireEnd = udpEnd > end ? udpEnd : udpEnd === end ? end + missing : udpEnd;
      pool.pull(s, vx + 8 - pool.start[s]);
      pool.len[s] = Math.min(end, udpEnd) - pool.start[s];
      pool.wireLen[s] = innerWireEnd - pool.start[s];
      const v = ctx.view;
      const err = parsePacket(v, b, pool.start[s], pool.len[s], pool.wireLen[s], LinkType.ETHERNET);
      if (err !== 0) {
        pool.aux1[s] = err;
        if (rt.tracing) rt.trace(s, 'vxlan device', `drop ${parseErrorName(err)}`, 'inner frame malformed');
        rt.drop(s, Drop.MALFORMED_FRAME);
        continue;
      }
      pool.l3[s] = v.layers[0].l3Offset;
      pool.l4[s] = v.layers[0].l4Offset;
      pool.device[s] = ctx.vxlanDev;
      const dev = ctx.devices.get(ctx.vxlanDev);
      rt.observe(s, dev.id, 0);
      if (rt.tracing) rt.trace(s, dev.label, 'decap', `vxlan id ${vni} from ${ipv4ToString(rd32(b, l3 + 12))}:${rd16(b, udp)} -> inner ${macToString(b, pool.start[s] + 6)} > ${macToString(b, pool.start[s])}`);
      rt.next(s, 0);
    }
  },
});
