import type { PacketPool } from '../engine/pool.js';
import { PacketFlag } from '../engine/pool.js';
import { finishChecksum, ipv4HeaderChecksum, onesSum, pseudoSum4 } from '../packet/checksum.js';
import { ETH_HLEN, IPPROTO_TCP, rd16, rd32, wr16, wr32 } from './wire.js';

/**
 * A TCP segment a node sends in answer to the segment in slot `orig`, in its peer's name:
 * addresses and ports swapped, DF set, TTL 64, a 20-byte TCP header with `flags`, `seq`, `ack`
 * and `payload`, checksums filled (Ethernet addresses are filled by ip4-output). Returns the slot.
 */
function tcpAnswer(pool: PacketPool, orig: number, flags: number, seq: number, ack: number, window: number, payload: Uint8Array | null): number {
  const ob = pool.bufs[orig];
  const l3 = pool.l3[orig];
  const l4 = pool.l4[orig];
  const plen = payload ? payload.length : 0;
  const total = 40 + plen;
  const s = pool.alloc();
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
  wr32(b, t + 4, seq >>> 0);
  wr32(b, t + 8, ack >>> 0);
  b[t + 12] = 5 << 4;
  b[t + 13] = flags;
  wr16(b, t + 14, window);
  if (payload) b.set(payload, t + 20);
  wr16(b, t + 16, finishChecksum(onesSum(b, t, 20 + plen, pseudoSum4(b, ip + 12, ip + 16, IPPROTO_TCP, 20 + plen))));
  pool.finishGenerated(s, orig, ETH_HLEN + total, PacketFlag.GENERATED | PacketFlag.LOCAL_OUT);
  pool.l3[s] = ip;
  pool.l4[s] = t;
  return s;
}

function hasTcpHeader(pool: PacketPool, orig: number): boolean {
  const l3 = pool.l3[orig];
  const l4 = pool.l4[orig];
  return l4 >= 0 && pool.bufs[orig][l3 + 9] === IPPROTO_TCP && l4 + 20 <= pool.start[orig] + pool.len[orig];
}

/** Data length of the TCP segment in slot `orig` (IP total length minus the IP and TCP headers). */
function segmentData(pool: PacketPool, orig: number): number {
  const ob = pool.bufs[orig];
  const l3 = pool.l3[orig];
  return rd16(ob, l3 + 2) - (ob[l3] & 0x0f) * 4 - (ob[pool.l4[orig] + 12] >> 4) * 4;
}

/**
 * The RST nf_send_reset() answers a TCP segment with (iptables `REJECT --reject-with tcp-reset`):
 * if the segment had ACK, seq = its ack and flag RST; otherwise seq 0, ack = its seq + segment
 * length (SYN and FIN count one) and flags RST|ACK. -1 for a RST or a packet without TCP header.
 */
export function buildTcpReset(pool: PacketPool, orig: number): number {
  if (!hasTcpHeader(pool, orig)) return -1;
  const ob = pool.bufs[orig];
  const l4 = pool.l4[orig];
  const flags = ob[l4 + 13];
  if (flags & 0x04) return -1;
  if (flags & 0x10) return tcpAnswer(pool, orig, 0x04, rd32(ob, l4 + 8), 0, 0, null);
  const seglen = segmentData(pool, orig) + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0);
  return tcpAnswer(pool, orig, 0x14, 0, rd32(ob, l4 + 4) + seglen, 0, null);
}

/**
 * A data segment answering the one in slot `orig` with `payload` (PSH|ACK; seq = its ack, ack = its
 * seq + its data length): what a proxy that terminated the connection in the server's name (Envoy
 * for an L7 policy) sends back. -1 without a TCP header.
 */
export function buildTcpReply(pool: PacketPool, orig: number, payload: Uint8Array): number {
  if (!hasTcpHeader(pool, orig)) return -1;
  const ob = pool.bufs[orig];
  const l4 = pool.l4[orig];
  return tcpAnswer(pool, orig, 0x18, rd32(ob, l4 + 8), rd32(ob, l4 + 4) + segmentData(pool, orig), 65535, payload);
}
