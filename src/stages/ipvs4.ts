import { defineStage } from '../engine/stage.js';
import { Drop } from '../engine/drop-reasons.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { IPVS_HIT, IPVS_NO_DEST, IpvsResult } from '../ipvs/ipvs.js';
import { ipv4ToString } from '../packet/format.js';
import { IPPROTO_TCP, IPPROTO_UDP, rd16, rd32 } from '../dataplane/wire.js';
import { sendIcmpError } from './icmp-send.js';
import { S } from './names.js';

/** pool.aux1 bit set by ipvs4-in: aux0/aux1 carry the real server chosen for a new connection. */
export const IPVS_PENDING = 0x40000000;
/** pool.aux1 bit: KUBE-MARK-MASQ fired for this IPVS connection. */
export const IPVS_MASQ = 0x20000000;

const result = new IpvsResult();

/**
 * kube-proxy IPVS mode (ip_vs_in at LOCAL_IN: the Service addresses are local on kube-ipvs0).
 * A client packet to a virtual server is looked up in the IPVS connection table, or scheduled on
 * a SYN/first datagram by the service's scheduler; the chosen real server is handed to
 * nf4-prerouting, which records it as the conntrack entry's DNAT (kube-proxy runs with
 * net.ipv4.vs.conntrack=1) so replies are un-NATed from conntrack as in iptables mode. Replies
 * update the IPVS connection's state. No real server: ICMP port unreachable (ip_vs_leave), drop.
 */
export const ipvs4In = defineStage<NodeContext>({
  name: S.IPVS4_IN,
  next: [S.NF4_PREROUTING],
  drops: [Drop.SERVICE_BACKEND_NOT_FOUND],
  describe: 'kube-proxy IPVS mode: virtual servers, schedulers, connection table',
  process(rt, slots, n, pool) {
    const ipvs = rt.ctx.ipvs;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      // aux0/aux1 are scratch: clear what a previous node's routing left, so IPVS_PENDING is ours.
      pool.aux1[s] = 0;
      if (!ipvs) {
        rt.next(s, 0);
        continue;
      }
      const b = pool.bufs[s];
      const l3 = pool.l3[s];
      const l4 = pool.l4[s];
      const proto = b[l3 + 9];
      if (l4 < 0 || (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP)) {
        rt.next(s, 0);
        continue;
      }
      const src = rd32(b, l3 + 12);
      const dst = rd32(b, l3 + 16);
      const sport = rd16(b, l4);
      const dport = rd16(b, l4 + 2);
      const flags = proto === IPPROTO_TCP ? b[l4 + 13] : 0;
      if (ipvs.lookupReply(proto, src, sport, dst, dport, flags, rt.now, result) === IPVS_HIT) {
        if (rt.tracing) rt.trace(s, 'ipvs', 'reply', `connection ${ipv4ToString(dst)}:${dport} -> virtual ${ipv4ToString(result.vip32)}:${result.vport} via ${ipv4ToString(src)}:${sport}`);
        rt.next(s, 0);
        continue;
      }
      const v = ipvs.lookupOrSchedule(proto, src, sport, dst, dport, flags, rt.now, result);
      if (v === IPVS_NO_DEST) {
        if (rt.tracing) rt.trace(s, 'ipvs', 'drop SERVICE_BACKEND_NOT_FOUND', `virtual server ${ipv4ToString(dst)}:${dport} has no real server: ICMP port unreachable (ip_vs_leave)`);
        sendIcmpError(rt, s, 3, 3, 0);
        rt.drop(s, Drop.SERVICE_BACKEND_NOT_FOUND);
        continue;
      }
      if (v === IPVS_HIT && result.created) {
        const svc = ipvs.services[result.svcIndex];
        pool.aux0[s] = result.rsIp32 | 0;
        pool.aux1[s] = IPVS_PENDING | result.rsPort | (rt.ctx.ipvsMasq?.marksMasq(result.svcIndex, svc.protocol, src, dport, rt.ctx.localAddrs.has(dst)) ? IPVS_MASQ : 0);
        if (rt.tracing) rt.trace(s, 'ipvs', 'schedule', `${svc.protocol} ${svc.vip}:${svc.port} ${svc.scheduler} -> ${ipv4ToString(result.rsIp32)}:${result.rsPort} Masq (new connection)`);
      } else if (v === IPVS_HIT && rt.tracing) {
        rt.trace(s, 'ipvs', 'connection', `${ipv4ToString(src)}:${sport} -> ${ipv4ToString(dst)}:${dport} -> ${ipv4ToString(result.rsIp32)}:${result.rsPort}`);
      }
      rt.next(s, 0);
    }
  },
});
