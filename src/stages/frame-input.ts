import { Drop } from '../engine/drop-reasons.js';
import { PacketFlag } from '../engine/pool.js';
import type { PacketPool } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind, sameMac, type Device } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { parsePacket } from '../packet/parse.js';
import { parseErrorName } from '../packet/errors.js';
import { ipv4ToString } from '../packet/format.js';
import { L3Kind, LinkType, type PacketView } from '../packet/view.js';
import { S } from './names.js';

/**
 * Where a frame enters the cluster. The frame is parsed once (VPP's ethernet-input role) and its
 * L3/L4 offsets recorded in the packet metadata; a malformed frame is a counted drop carrying its
 * parse error in pool.aux1, never an exception.
 *
 * Attach: a frame whose pool.device is preset (`--at`, or a pcapng interface named after a device)
 * enters there: sent by a pod's eth0, or received by a node device. Otherwise it enters where its
 * sender lives: source MAC of a pod's eth0 or a node NIC; else source IPv4 of a pod (the Ethernet
 * header re-derived for that pod: a frame captured on the receiving side, or from a link type
 * without Ethernet, flagged L2_REWRITTEN) or of a node (sent by that node's stack: routed from
 * ip4-lookup, flagged LOCAL_OUT). A frame from nobody the scenario knows is dropped as UNKNOWN_SENDER.
 */
export const frameInput = defineStage<NodeContext>({
  name: S.FRAME_INPUT,
  next: [S.SOCK4_CONNECT, S.ETHERNET_INPUT, S.UNDERLAY_XMIT, S.IP4_LOOKUP],
  drops: [Drop.MALFORMED_FRAME, Drop.UNKNOWN_SENDER],
  describe: 'parse the frame and attach it where its sender lives',
  process(rt, slots, n, pool) {
    const ctx = rt.ctx;
    const v = ctx.view;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const err = pool.flags[s] & PacketFlag.NOT_ETHERNET ? pool.aux1[s] : parsePacket(v, pool.bufs[s], pool.start[s], pool.len[s], pool.wireLen[s], LinkType.ETHERNET);
      if (err !== 0) {
        pool.aux1[s] = err;
        if (rt.tracing) {
          rt.trace(s, 'ingress', `drop ${parseErrorName(err)}`, pool.flags[s] & PacketFlag.NOT_ETHERNET
            ? 'the capture\'s link type does not carry a frame dpemu can deliver (dpemu inspect shows where its parse stops)'
            : `parse error at byte ${v.errorOffset - pool.start[s]}`);
        }
        rt.drop(s, Drop.MALFORMED_FRAME);
        continue;
      }
      const L = v.layers[0];
      pool.l3[s] = L.l3Offset;
      pool.l4[s] = L.l4Offset;
      let dev: Device | undefined;
      let sent = false;
      if (pool.device[s] >= 0) {
        dev = ctx.devices.get(pool.device[s]);
        sent = dev.kind === DeviceKind.POD_ETH0;
      } else {
        dev = attach(ctx, v, pool, s);
        sent = true;
        if (!dev) {
          if (rt.tracing) rt.trace(s, 'ingress', 'drop UNKNOWN_SENDER', `no pod or node has source ${L.l3Kind === L3Kind.IPV4 ? ipv4ToString(L.src4) : 'address'} or its MAC`);
          rt.drop(s, Drop.UNKNOWN_SENDER);
          continue;
        }
      }
      pool.device[s] = dev.id;
      pool.ingress[s] = dev.id;
      pool.node[s] = dev.node;
      if (rt.tracing) rt.trace(s, dev.label, sent ? 'sent' : 'received', pool.flags[s] & PacketFlag.L2_REWRITTEN ? 'attached by source IP; Ethernet header re-derived for the sender' : 'attached');
      if (pool.flags[s] & PacketFlag.LOCAL_OUT) rt.next(s, 3);
      else if (dev.kind === DeviceKind.POD_ETH0) rt.next(s, 0);
      else if (sent && dev.kind === DeviceKind.UNDERLAY) rt.next(s, 2);
      else {
        rt.observe(s, dev.id, 0);
        rt.next(s, 1);
      }
    }
  },
});

function attach(ctx: NodeContext, v: PacketView, pool: PacketPool, s: number): Device | undefined {
  const L = v.layers[0];
  const b = pool.bufs[s];
  const st = pool.start[s];
  for (const d of ctx.devices.all) {
    if ((d.kind === DeviceKind.POD_ETH0 || d.kind === DeviceKind.UNDERLAY) && L.ethSrcOffset >= 0 && sameMac(b, L.ethSrcOffset, d.mac)) return d;
  }
  if (L.l3Kind !== L3Kind.IPV4) return undefined;
  const src = L.src4 >>> 0;
  const devices = ctx.devices;
  for (const d of devices.all) {
    if (d.kind === DeviceKind.POD_ETH0 && d.pod && d.pod.ip32 >>> 0 === src) {
      b.set(devices.get(d.peer).mac, st);
      b.set(d.mac, st + 6);
      pool.flags[s] |= PacketFlag.L2_REWRITTEN;
      return d;
    }
  }
  for (const node of ctx.cluster.nodes) {
    if (node.ip32 >>> 0 !== src) continue;
    // Sent by the node's own stack (e.g. an ICMP error it made): routed from there.
    pool.flags[s] |= PacketFlag.LOCAL_OUT;
    return devices.get(devices.nicOf[node.index]);
  }
  return undefined;
}
