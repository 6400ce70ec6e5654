import { Drop } from '../engine/drop-reasons.js';
import { defineStage } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { ipv4HeaderChecksum } from '../packet/checksum.js';
import { ETH_HLEN, rd16 } from '../dataplane/wire.js';
import { S } from './names.js';

/**
 * ip_rcv: version, header length, total length and header checksum are checked (a bad checksum
 * is counted, as InCsumErrors, and dropped); Ethernet padding past the total length is trimmed, so
 * a forwarded frame carries only the datagram.
 */
export const ip4Input = defineStage<NodeContext>({
  name: S.IP4_INPUT,
  next: [S.IP4_DEFRAG],
  drops: [Drop.INVALID_PACKET_DROPPED, Drop.IPV4_HEADER_CHECKSUM],
  describe: 'IPv4 receive checks (ip_rcv)',
  process(rt, slots, n, pool) {
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const st = pool.start[s];
      const l3 = st + ETH_HLEN;
      pool.l3[s] = l3;
      const end = st + pool.len[s];
      const ihl = (b[l3] & 0x0f) * 4;
      const total = rd16(b, l3 + 2);
      const truncated = pool.wireLen[s] > pool.len[s];
      if (end - l3 < 20 || b[l3] >> 4 !== 4 || ihl < 20 || l3 + ihl > end || total < ihl || (l3 + total > end && !truncated)) {
        if (rt.tracing) rt.trace(s, 'routing', 'drop INVALID_PACKET_DROPPED', `bad IPv4 header (ihl ${ihl}, total length ${total}, ${end - l3} bytes present)`);
        rt.drop(s, Drop.INVALID_PACKET_DROPPED);
        continue;
      }
      if (ipv4HeaderChecksum(b, l3, ihl) !== rd16(b, l3 + 10)) {
        if (rt.tracing) rt.trace(s, 'routing', 'drop IPV4_HEADER_CHECKSUM', `header checksum 0x${rd16(b, l3 + 10).toString(16).padStart(4, '0')} is wrong`);
        rt.drop(s, Drop.IPV4_HEADER_CHECKSUM);
        continue;
      }
      // ip_rcv_core clears IPCB: a frag_max_size (aux2) from defrag on another node must not
      // follow the packet through the tunnel.
      pool.aux2[s] = 0;
      pool.l4[s] = (rd16(b, l3 + 6) & 0x1fff) === 0 ? l3 + ihl : -1;
      if (l3 + total < end) {
        pool.len[s] = l3 + total - st;
        pool.wireLen[s] = pool.len[s];
      }
      rt.next(s, 0);
    }
  },
});
