import { Drop } from '../engine/drop-reasons.js';
import { defineStage } from '../engine/stage.js';
import { sameMac } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { macToString } from '../packet/format.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, rd16 } from '../dataplane/wire.js';
import { S } from './names.js';

/**
 * A node device receives a frame (eth_type_trans): unicast to another MAC is PACKET_OTHERHOST and
 * dropped; then ARP or IPv4 by EtherType. IPv6 is disabled on the modeled nodes, and no VLAN
 * devices exist, so those are counted drops.
 */
export const ethernetInput = defineStage<NodeContext>({
  name: S.ETHERNET_INPUT,
  next: [S.ARP_INPUT, S.IP4_INPUT],
  drops: [Drop.NOT_FOR_THIS_HOST, Drop.UNSUPPORTED_L3_PROTOCOL, Drop.UNSUPPORTED_L2_PROTOCOL],
  describe: 'L2 receive on a node device',
  process(rt, slots, n, pool) {
    const devices = rt.ctx.devices;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const b = pool.bufs[s];
      const st = pool.start[s];
      const dev = devices.get(pool.device[s]);
      if ((b[st] & 1) === 0 && !sameMac(b, st, dev.mac)) {
        if (rt.tracing) rt.trace(s, dev.label, 'drop NOT_FOR_THIS_HOST', `dst ${macToString(b, st)} is not ${dev.name} ${dev.macText}`);
        rt.drop(s, Drop.NOT_FOR_THIS_HOST);
        continue;
      }
      const type = rd16(b, st + 12);
      if (type === ETHERTYPE_IPV4) rt.next(s, 1);
      else if (type === ETHERTYPE_ARP) rt.next(s, 0);
      else {
        const reason = type === ETHERTYPE_IPV6 ? Drop.UNSUPPORTED_L3_PROTOCOL : Drop.UNSUPPORTED_L2_PROTOCOL;
        if (rt.tracing) rt.trace(s, dev.label, reason === Drop.UNSUPPORTED_L3_PROTOCOL ? 'drop UNSUPPORTED_L3_PROTOCOL' : 'drop UNSUPPORTED_L2_PROTOCOL', `ethertype 0x${type.toString(16).padStart(4, '0')} (IPv6 is disabled on the nodes; no VLAN devices)`);
        rt.drop(s, reason);
      }
    }
  },
});
