import type { PacketPool } from '../engine/pool.js';
import { PacketFlag } from '../engine/pool.js';
import { finishChecksum, ipv4HeaderChecksum, onesSum, pseudoSum4 } from '../packet/checksum.js';
import { ETH_HLEN, IPPROTO_TCP, rd16, rd32, wr16, wr32 } from './wire.js';

/**
 * A TCP segment answering the data segment in slot `orig` from its destination, carrying
 * `payload` (PSH|ACK; seq = the segment's ack, ack = its seq + its data length): what a proxy that
 * terminated the connection in the server's name (Envoy for an L7 policy) sends back. DF set,
 * TTL 64. Returns the new slot (Ethernet addresses filled by ip4-output), or -1 without a TCP header.
 */
export function buildTcpReply(pool: PacketPool, orig: number, payload: Uint8Array): number {
  const ob = pool.bufs[orig];
  const l3 = pool.l3[orig];
  const l4 = pool.l4[orig];
  if (l4 < 0 || ob[l3 + 9] !== IPPROTO_TCP || l4 + 20 > pool.start[orig] + pool.len[orig]) return -1;
  const dataLen = rd16(ob, l3 + 2) - (ob[l3] & 0x0f) * 4 - (ob[l4 + 12] >> 4) * 4;
  const s = pool.alloc();
  const total = 40 + payload.length;
  pool.ensureRoom(s, ETH_HLEN + total);
  const b = pool.bufs[s];
  const st = pool.start[s];
  b.fill(0, st, st + ETH_HLEN + 40);
  wr16(b, st + 12, 0x0800);
  const ip = st + ETH_HLEN;
  b[ip] = 0x45;
  wr16(b, ip + 2, total);
  wr16(b, ip + 6, 0x4000);
  b[ip + 8] = 64;
  b[ip + 9] = IPPROTO_TCP;
  wr32(b, ip + 12, rd32(ob, l3 + 16));
  wr32(b, ip + 16, rd32(ob, l3 + 12));
  wr16(b, ip + 10, ipv4HeaderChecksum(b, ip, 20));
  const t = ip + 20;
  wr16(b, t, rd16(ob, l4 + 2));
  wr16(b, t + 2, rd16(ob, l4));
  wr32(b, t + 4, rd32(ob, l4 + 8));
  wr32(b, t + 8, (rd32(ob, l4 + 4) + dataLen) >>> 0);
  b[t + 12] = 5 << 4;
  b[t + 13] = 0x18;
  wr16(b, t + 14, 65535);
  b.set(payload, t + 20);
  wr16(b, t + 16, finishChecksum(onesSum(b, t, 20 + payload.length, pseudoSum4(b, ip + 12, ip + 16, IPPROTO_TCP, 20 + payload.length))));
  pool.finishGenerated(s, orig, ETH_HLEN + total, PacketFlag.GENERATED | PacketFlag.LOCAL_OUT);
  pool.l3[s] = ip;
  pool.l4[s] = t;
  return s;
}
