import { describe, expect, it } from 'vitest';
import { buildTcpReply, buildTcpReset } from '../../src/dataplane/tcp-answer.js';
import { PacketPool } from '../../src/engine/pool.js';
import { buildFrame } from '../../src/packet/build.js';
import { ChecksumStatus, verifyIpv4Header, verifyL4 } from '../../src/packet/checksum.js';
import { parsePacket } from '../../src/packet/parse.js';
import { PacketView } from '../../src/packet/view.js';

function load(pool: PacketPool, flags: number, payload = new Uint8Array(0)): number {
  const f = buildFrame([
    { type: 'eth', src: '0a:58:0a:f4:01:05', dst: 'ee:ee:ee:ee:ee:ee' },
    { type: 'ipv4', src: '10.244.1.5', dst: '10.244.2.8' },
    { type: 'tcp', srcPort: 40000, dstPort: 8080, flags, seq: 1000, ack: 5000 },
  ], payload);
  const s = pool.load(f, 0, f.length, f.length, 1, 2);
  const v = new PacketView();
  parsePacket(v, pool.bufs[s], pool.start[s], pool.len[s], pool.len[s], 1);
  pool.l3[s] = v.layers[0].l3Offset;
  pool.l4[s] = v.layers[0].l4Offset;
  return s;
}

function parse(pool: PacketPool, s: number) {
  const v = new PacketView();
  expect(parsePacket(v, pool.bufs[s], pool.start[s], pool.len[s], pool.len[s], 1)).toBe(0);
  const L = v.layers[0];
  expect(verifyIpv4Header(pool.bufs[s], L)).toBe(ChecksumStatus.GOOD);
  expect(verifyL4(pool.bufs[s], L)).toBe(ChecksumStatus.GOOD);
  return L;
}

describe('TCP answers a node sends in its peer\'s name', () => {
  it('RST to a SYN: RST|ACK, seq 0, ack = seq + 1 (nf_send_reset); to an ACK: RST with seq = its ack', () => {
    const pool = new PacketPool(8, 2048, 128);
    const syn = parse(pool, buildTcpReset(pool, load(pool, 0x02)));
    expect([syn.srcPort, syn.dstPort, syn.tcpFlags, syn.tcpSeq, syn.tcpAck, syn.ipTtl, syn.ipDf]).toEqual([8080, 40000, 0x14, 0, 1001, 64, 1]);
    const ack = parse(pool, buildTcpReset(pool, load(pool, 0x10)));
    expect([ack.tcpFlags, ack.tcpSeq]).toEqual([0x04, 5000]);
    expect(buildTcpReset(pool, load(pool, 0x04))).toBe(-1);
  });

  it('a proxy reply carries the payload with seq = the request\'s ack and ack = its seq + data length', () => {
    const pool = new PacketPool(8, 2048, 128);
    const req = load(pool, 0x18, new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'));
    const r = buildTcpReply(pool, req, new TextEncoder().encode('HTTP/1.1 403 Forbidden\r\n\r\n'));
    const L = parse(pool, r);
    expect([L.srcPort, L.dstPort, L.tcpFlags, L.tcpSeq, L.tcpAck, L.payloadLength]).toEqual([8080, 40000, 0x18, 5000, 1018, 26]);
  });
});
