import { Drop } from '../engine/drop-reasons.js';
import { defineStage } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { csumUpdate16 } from '../packet/checksum.js';
import { rd16, wr16 } from '../dataplane/wire.js';
import { sendIcmpError } from './icmp-send.js';
import { S } from './names.js';

/**
 * ip_forward, in the kernel's order: TTL <= 1 -> ICMP time exceeded (11/0); a DF datagram larger
 * than the route MTU -> ICMP fragmentation needed (3/4) carrying that MTU, quoting the datagram
 * as received; then the TTL is decremented with an incremental checksum update (ip_decrease_ttl).
 */
export const ip4Forward = defineStage<NodeContext>({
  name: S.IP4_FORWARD,
  next: [S.NF4_FORWARD],
  drops: [Drop.TTL_EXCEEDED, Drop.FRAG_NEEDED],
  describe: 'forwarding: TTL, DF/MTU (ip_forward)',
  process(rt, slots, n, pool) {
    const devices = rt.ctx.devices;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const ttl = b[l3 + 8];
      if (ttl <= 1) {
        if (rt.tracing) rt.trace(s, 'routing', 'drop TTL_EXCEEDED', `TTL ${ttl}: ICMP time exceeded (11/0) sent to the source`);
        sendIcmpError(rt, s, 11, 0, 0);
        rt.drop(s, Drop.TTL_EXCEEDED);
        continue;
      }
      const dev = devices.get(pool.aux0[s]);
      const total = rd16(b, l3 + 2);
      if (total > dev.mtu && (b[l3 + 6] & 0x40) !== 0) {
        if (rt.tracing) rt.trace(s, 'routing', 'drop FRAG_NEEDED', `${total} bytes > mtu ${dev.mtu} of ${dev.name} with DF: ICMP fragmentation needed (3/4, mtu ${dev.mtu}) sent`);
        sendIcmpError(rt, s, 3, 4, dev.mtu & 0xffff);
        rt.drop(s, Drop.FRAG_NEEDED);
        continue;
      }
      const old = rd16(b, l3 + 8);
      b[l3 + 8] = ttl - 1;
      wr16(b, l3 + 10, csumUpdate16(rd16(b, l3 + 10), old, rd16(b, l3 + 8)));
      if (rt.tracing) rt.trace(s, 'routing', 'ttl', `TTL ${ttl} -> ${ttl - 1}`);
      rt.next(s, 0);
    }
  },
});
