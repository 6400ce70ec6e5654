import { Verdict } from '../engine/pool.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { S } from './names.js';
import { sock4RecvTrace } from './sock4.js';

/**
 * A veth pair: what one end transmits the other end receives, unchanged. From a pod's eth0 the
 * frame arrives on the host-side veth (the node's stack takes it); from the host side it arrives
 * in the pod (delivered: the walk ends).
 */
export const vethXmit = defineStage<NodeContext>({
  name: S.VETH_XMIT,
  next: [S.ETHERNET_INPUT],
  describe: 'veth pair: pod eth0 <-> host-side veth',
  process(rt, slots, n, pool) {
    const devices = rt.ctx.devices;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const from = devices.get(pool.device[s]);
      const to = devices.get(from.peer);
      rt.observe(s, from.id, 1);
      rt.observe(s, to.id, 0);
      if (to.kind === DeviceKind.HOST_VETH) {
        if (rt.tracing) rt.trace(s, from.label, `veth -> ${to.label}`, `${from.name}@${to.name} (pod ${to.pod?.namespace}/${to.pod?.name})`);
        rt.next(s, 0);
      } else {
        if (rt.tracing) rt.trace(s, to.label, 'delivered', `${from.name} -> pod ${to.pod?.namespace}/${to.pod?.name} eth0 ${to.macText}`);
        if (rt.tracing && rt.ctx.ebpf) sock4RecvTrace(rt, s, pool);
        rt.done(s, Verdict.FORWARDED);
      }
    }
  },
});
