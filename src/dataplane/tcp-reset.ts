import type { PacketPool } from '../engine/pool.js';
import { PacketFlag } from '../engine/pool.js';
import { finishChecksum, ipv4HeaderChecksum, onesSum, pseudoSum4 } from '../packet/checksum.js';
import { ETH_HLEN, IPPROTO_TCP, rd16, rd32, wr16, wr32 } from './wire.js';

/**
 * The RST nf_send_reset() answers a TCP segment with (iptables `REJECT --reject-with tcp-reset`):
 * addresses and ports swapped, DF set, TTL 64; if the segment had ACK, seq = its ack and flag RST;
 * otherwise seq 0, ack = its seq + segment length (SYN and FIN count one) and flags RST|ACK.
 * Returns the new slot, or -1 for a segment that is itself a RST or has no TCP header.
 */
export function buildTcpReset(pool: PacketPool, orig: number): number {
  const ob = pool.bufs[orig];
  const l3 = pool.l3[orig];
  const l4 = pool.l4[orig];
  if (l4 < 0 || ob[l3 + 9] !== IPPROTO_TCP || l4 + 20 > pool.start[orig] + pool.len[orig]) return -1;
  const flags = ob[l4 + 13];
  if (flags & 0x04) return -1;
  const s = pool.alloc();
  const b = pool.bufs[s];
  const st = pool.start[s];
  b.fill(0, st, st + ETH_HLEN + 40);
  wr16(b, st + 12, 0x0800);
  const ip = st + ETH_HLEN;
  b[ip] = 0x45;
  wr16(b, ip + 2, 40);
  wr16(b, ip + 6, 0x4000);
  b[ip + 8] = 64;
  b[ip + 9] = IPPROTO_TCP;
  wr32(b, ip + 12, rd32(ob, l3 + 16));
  wr32(b, ip + 16, rd32(ob, l3 + 12));
  wr16(b, ip + 10, ipv4HeaderChecksum(b, ip, 20));
  const t = ip + 20;
  wr16(b, t, rd16(ob, l4 + 2));
  wr16(b, t + 2, rd16(ob, l4));
  if (flags & 0x10) {
    wr32(b, t + 4, rd32(ob, l4 + 8));
    b[t + 13] = 0x04;
  } else {
    const seglen = rd16(ob, l3 + 2) - (ob[l3] & 0x0f) * 4 - (ob[l4 + 12] >> 4) * 4 + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0);
    wr32(b, t + 8, (rd32(ob, l4 + 4) + seglen) >>> 0);
    b[t + 13] = 0x14;
  }
  b[t + 12] = 5 << 4;
  wr16(b, t + 16, finishChecksum(onesSum(b, t, 20, pseudoSum4(b, ip + 12, ip + 16, IPPROTO_TCP, 20))));
  pool.finishGenerated(s, orig, ETH_HLEN + 40, PacketFlag.GENERATED | PacketFlag.LOCAL_OUT);
  pool.l3[s] = ip;
  pool.l4[s] = t;
  return s;
}
