import type { PacketPool } from '../engine/pool.js';
import { csumUpdate16, csumUpdate32, udpCsumUpdate16, udpCsumUpdate32 } from '../packet/checksum.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, rd16, rd32, wr16, wr32 } from './wire.js';

/**
 * Rewrites the source (which = 0) or destination (which = 1) address and port of the IPv4 packet in
 * slot `s` in place, with incremental checksum updates (RFC 1624) as nf_nat_ipv4_manip_pkt does:
 * the IPv4 header checksum, and the TCP/UDP checksum over the pseudo-header and the port (a UDP
 * checksum of 0 stays 0). For ICMP the "port" is the echo identifier. A fragment without an L4
 * header gets the address only. Returns true when anything changed.
 */
export function natRewrite(pool: PacketPool, s: number, which: 0 | 1, addr: number, port: number): boolean {
  const b = pool.bufs[s];
  const l3 = pool.l3[s];
  const ao = l3 + (which ? 16 : 12);
  const oldAddr = rd32(b, ao);
  const newAddr = addr >>> 0;
  let changed = false;
  if (oldAddr !== newAddr) {
    wr32(b, ao, newAddr);
    wr16(b, l3 + 10, csumUpdate32(rd16(b, l3 + 10), oldAddr, newAddr));
    changed = true;
  }
  const l4 = pool.l4[s];
  if (l4 < 0) return changed;
  const proto = b[l3 + 9];
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    const po = l4 + (which ? 2 : 0);
    const oldPort = rd16(b, po);
    const co = l4 + (proto === IPPROTO_TCP ? 16 : 6);
    const end = pool.start[s] + pool.len[s];
    if (oldPort !== port) {
      wr16(b, po, port);
      changed = true;
    }
    if (co + 2 > end) return changed;
    let c = rd16(b, co);
    if (proto === IPPROTO_TCP) {
      if (oldAddr !== newAddr) c = csumUpdate32(c, oldAddr, newAddr);
      if (oldPort !== port) c = csumUpdate16(c, oldPort, port);
    } else {
      if (oldAddr !== newAddr) c = udpCsumUpdate32(c, oldAddr, newAddr);
      if (oldPort !== port) c = udpCsumUpdate16(c, oldPort, port);
    }
    wr16(b, co, c);
  } else if (proto === IPPROTO_ICMP) {
    const type = b[l4];
    if (type === 0 || type === 8) {
      const oldId = rd16(b, l4 + 4);
      if (oldId !== port) {
        wr16(b, l4 + 4, port);
        wr16(b, l4 + 2, csumUpdate16(rd16(b, l4 + 2), oldId, port));
        changed = true;
      }
    }
  }
  return changed;
}
