import { Drop } from '../engine/drop-reasons.js';
import { PacketFlag } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { RouteKind } from '../dataplane/routes.js';
import { ipv4ToString } from '../packet/format.js';
import { rd32 } from '../dataplane/wire.js';
import { sendIcmpError } from './icmp-send.js';
import { S } from './names.js';

/**
 * FIB lookup (longest prefix match). The chosen egress device and next hop go into the packet
 * metadata (aux0, aux1). No route: the node answers ICMP network unreachable (3/0) from its own
 * address, as the kernel test bed does without a default route (a node's own packets get no ICMP:
 * the kernel fails the send instead). Packets from the node's own stack skip forwarding (no TTL
 * decrement).
 */
export const ip4Lookup = defineStage<NodeContext>({
  name: S.IP4_LOOKUP,
  next: [S.NF4_INPUT, S.IP4_FORWARD, S.NF4_OUTPUT],
  drops: [Drop.FIB_LOOKUP_FAILED],
  describe: 'route lookup (LPM)',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    const routes = ctx.routes;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const dst = rd32(pool.bufs[s], pool.l3[s] + 16);
      const r = routes.lookup(dst);
      if (r < 0) {
        if (rt.tracing) rt.trace(s, 'routing', 'drop FIB_LOOKUP_FAILED', `no route to ${ipv4ToString(dst)}: ICMP network unreachable sent`);
        if (!(pool.flags[s] & PacketFlag.LOCAL_OUT)) sendIcmpError(rt, s, 3, 0, 0);
        rt.drop(s, Drop.FIB_LOOKUP_FAILED);
        continue;
      }
      const route = routes.routes[r];
      if (rt.tracing) rt.trace(s, 'routing', route.kind === RouteKind.LOCAL ? 'local' : 'forward', route.text);
      if (route.kind === RouteKind.LOCAL) {
        // The node's own packet to itself goes through OUTPUT and POSTROUTING before the loopback delivers
        // it (nat OUTPUT may DNAT it: kube-proxy's KUBE-NODEPORTS for `curl <node IP>:<nodePort>`).
        if (pool.flags[s] & PacketFlag.LOCAL_OUT) {
          pool.flags[s] |= PacketFlag.LOOPBACK;
          rt.next(s, 2);
        } else rt.next(s, 0);
        continue;
      }
      pool.aux0[s] = route.dev;
      pool.aux1[s] = route.kind === RouteKind.VIA ? route.via : dst;
      rt.next(s, pool.flags[s] & PacketFlag.LOCAL_OUT ? 2 : 1);
    }
  },
});
