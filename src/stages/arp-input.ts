import { Drop } from '../engine/drop-reasons.js';
import { PacketFlag, Verdict } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { RouteKind } from '../dataplane/routes.js';
import { ipv4ToString } from '../packet/format.js';
import { ETH_HLEN, rd16, rd32 } from '../dataplane/wire.js';
import { S } from './names.js';

const ARP_LEN = 28;

/**
 * ARP on a node device, as the modeled CNI answers it:
 * - host-side veth (Calico-style, proxy_arp=1): answers a pod's request for its gateway
 *   169.254.1.1, or for any address the node routes out of another device, with the veth's MAC
 *   ee:ee:ee:ee:ee:ee (arp_process -> pneigh / proxy_arp);
 * - underlay NIC: answers requests for the node's own address;
 * - replies and anything else are consumed (the modeled neighbours are static).
 */
export const arpInput = defineStage<NodeContext>({
  name: S.ARP_INPUT,
  next: [],
  drops: [Drop.ARP_NOT_ANSWERED, Drop.INVALID_PACKET_DROPPED],
  describe: 'ARP: proxy ARP on host veths, own address on the NIC',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const a = pool.start[s] + ETH_HLEN;
      const dev = ctx.devices.get(pool.device[s]);
      if (pool.len[s] < ETH_HLEN + ARP_LEN || rd16(b, a) !== 1 || rd16(b, a + 2) !== 0x0800 || b[a + 4] !== 6 || b[a + 5] !== 4) {
        rt.drop(s, Drop.INVALID_PACKET_DROPPED);
        continue;
      }
      const op = rd16(b, a + 6);
      const spa = rd32(b, a + 14);
      const tpa = rd32(b, a + 24);
      if (op !== 1) {
        if (rt.tracing) rt.trace(s, dev.label, 'consumed', `ARP op ${op} from ${ipv4ToString(spa)} (static neighbours; nothing to learn)`);
        rt.done(s, Verdict.FORWARDED);
        continue;
      }
      let answer = false;
      let why = '';
      if (dev.kind === DeviceKind.HOST_VETH) {
        if (ctx.gatewayIps.has(tpa)) {
          answer = true;
          why = `proxy ARP for the pod gateway ${ipv4ToString(tpa)}`;
        } else if (tpa !== spa) {
          const r = ctx.routes.lookup(tpa);
          if (r >= 0 && ctx.routes.routes[r].dev !== dev.id && ctx.routes.routes[r].kind !== RouteKind.LOCAL) {
            answer = true;
            why = `proxy ARP: route ${ctx.routes.routes[r].text}`;
          } else if (r >= 0 && ctx.routes.routes[r].kind === RouteKind.LOCAL) {
            answer = true;
            why = `proxy ARP for a node address ${ipv4ToString(tpa)}`;
          }
        }
      } else if (dev.kind === DeviceKind.UNDERLAY && tpa === ctx.node.ip32) {
        answer = true;
        why = `${ipv4ToString(tpa)} is ${dev.name}'s address`;
      }
      if (!answer) {
        if (rt.tracing) rt.trace(s, dev.label, 'drop ARP_NOT_ANSWERED', `who-has ${ipv4ToString(tpa)} tell ${ipv4ToString(spa)}: no proxy rule or route`);
        rt.drop(s, Drop.ARP_NOT_ANSWERED);
        continue;
      }
      const r = pool.alloc();
      const rb = pool.bufs[r];
      const o = pool.start[r];
      rb.set(b.subarray(a + 8, a + 14), o); // to the requester's MAC
      rb.set(dev.mac, o + 6);
      rb[o + 12] = 0x08;
      rb[o + 13] = 0x06;
      const ra = o + ETH_HLEN;
      rb.set(b.subarray(a, a + 6), ra); // htype, ptype, hlen, plen
      rb[ra + 6] = 0;
      rb[ra + 7] = 2;
      rb.set(dev.mac, ra + 8);
      rb.set(b.subarray(a + 24, a + 28), ra + 14); // sender ip = the address asked for
      rb.set(b.subarray(a + 8, a + 18), ra + 18); // target = requester mac + ip
      pool.finishGenerated(r, s, ETH_HLEN + ARP_LEN, PacketFlag.GENERATED);
      pool.device[r] = dev.id;
      pool.l3[r] = ra;
      if (rt.tracing) rt.trace(s, dev.label, 'ARP reply', `${ipv4ToString(tpa)} is-at ${dev.macText}: ${why}`);
      rt.done(s, Verdict.FORWARDED);
      rt.emit(r, dev.kind === DeviceKind.HOST_VETH ? S.VETH_XMIT : S.UNDERLAY_XMIT);
    }
  },
});
