import { Verdict } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { IPPROTO_UDP, rd16 } from '../dataplane/wire.js';
import { S } from './names.js';

/**
 * ip_local_deliver: VXLAN arriving on the tunnel port of the node's address goes to the VXLAN
 * socket (decap); anything else for the node is delivered to its own stack, where dpemu models no
 * sockets: the walk ends there (trace point TO_STACK).
 */
export const ip4Local = defineStage<NodeContext>({
  name: S.IP4_LOCAL,
  next: [S.VXLAN4_DECAP],
  describe: 'local delivery (VXLAN socket or host stack)',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    const tun = ctx.cluster.tunnel;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const l4 = pool.l4[s];
      if (tun.mode === 'vxlan' && b[l3 + 9] === IPPROTO_UDP && l4 >= 0 && rd16(b, l4 + 2) === tun.port) {
        rt.next(s, 0);
        continue;
      }
      if (rt.tracing) rt.trace(s, `${ctx.node.name} stack`, 'delivered to host', `protocol ${b[l3 + 9]} for the node itself`);
      rt.done(s, Verdict.FORWARDED);
    }
  },
});
