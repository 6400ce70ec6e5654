import { PacketFlag, Verdict } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind, sameMac } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { macToString } from '../packet/format.js';
import { S } from './names.js';

/**
 * The underlay wire: what a node's NIC sends arrives at the NIC whose MAC it is addressed to (the
 * modeled L2 segment joins every node); a broadcast/multicast frame arrives at every other NIC.
 * A unicast destination outside the modeled cluster leaves it.
 */
export const underlayXmit = defineStage<NodeContext>({
  name: S.UNDERLAY_XMIT,
  next: [S.ETHERNET_INPUT],
  describe: 'underlay NIC transmit and the wire between nodes',
  process(rt, slots, n, pool) {
    const devices = rt.ctx.devices;
    const nics = devices.nicOf;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const nic = devices.get(rt.ctx.nic);
      rt.observe(s, nic.id, 1);
      const b = pool.bufs[s];
      const st = pool.start[s];
      if (b[st] & 1) {
        // A group address (broadcast, e.g. a node's ARP request; multicast) floods the segment:
        // every other node's NIC receives a copy, as on the L2 segment the kernel test bed uses.
        // Before this, such frames "left the cluster" and a node's ARP was never answered.
        let first = -1;
        for (let k = 0; k < nics.length; k++) {
          const d = devices.get(nics[k]);
          if (d.id === nic.id) continue;
          if (first < 0) {
            first = d.id;
            continue;
          }
          const c = pool.clone(s);
          pool.device[c] = d.id;
          pool.flags[c] &= ~PacketFlag.LOCAL_OUT;
          rt.emit(c, S.ETHERNET_INPUT, d.node);
          // Sent once on the wire (observed above for s), received once per NIC.
          rt.observe(c, d.id, 0);
          if (rt.tracing) rt.trace(c, nic.label, `wire -> ${d.label}`, `${nic.macText} > ${macToString(b, st)} (flooded)`);
        }
        if (first >= 0) {
          const dst = devices.get(first);
          if (rt.tracing) rt.trace(s, nic.label, `wire -> ${dst.label}`, `${nic.macText} > ${macToString(b, st)} (flooded)`);
          pool.node[s] = dst.node;
          pool.device[s] = dst.id;
          pool.flags[s] &= ~PacketFlag.LOCAL_OUT;
          rt.observe(s, dst.id, 0);
          rt.next(s, 0);
          continue;
        }
      }
      let to = -1;
      for (let k = 0; k < nics.length; k++) {
        const d = devices.get(nics[k]);
        if (d.kind === DeviceKind.UNDERLAY && d.id !== nic.id && sameMac(b, st, d.mac)) to = d.id;
      }
      if (to < 0) {
        if (rt.tracing) rt.trace(s, nic.label, 'left the cluster', `no modeled node has ${macToString(b, st)}`);
        rt.done(s, Verdict.FORWARDED);
        continue;
      }
      const dst = devices.get(to);
      if (rt.tracing) rt.trace(s, nic.label, `wire -> ${dst.label}`, `${nic.macText} > ${dst.macText}`);
      pool.node[s] = dst.node;
      pool.device[s] = dst.id;
      // On the next node the frame is received, not the node's own packet: a frame a node's stack
      // sent (LOCAL_OUT, e.g. a NodePort client on node-2, or an ICMP error) is forwarded there
      // through PREROUTING/FORWARD with a TTL decrement, as the kernel does (pcaps/kernel/service).
      pool.flags[s] &= ~PacketFlag.LOCAL_OUT;
      rt.observe(s, dst.id, 0);
      rt.next(s, 0);
    }
  },
});
