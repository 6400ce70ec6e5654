import { Drop } from '../engine/drop-reasons.js';
import { defineStage } from '../engine/stage.js';
import { DeviceKind } from '../dataplane/devices.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { parsePacket } from '../packet/parse.js';
import { parseErrorName } from '../packet/errors.js';
import { LinkType } from '../packet/view.js';
import { S } from './names.js';

/**
 * Where a frame enters: parse it once (VPP's ethernet-input role), record the L3/L4 offsets in
 * the packet metadata, and send it on from its ingress device. A malformed frame is a counted drop
 * carrying its parse error (pool.aux1), never an exception.
 */
export const frameInput = defineStage<NodeContext>({
  name: S.FRAME_INPUT,
  next: [S.VETH_XMIT, S.ETHERNET_INPUT],
  drops: [Drop.MALFORMED_FRAME],
  describe: 'parse the frame where it enters',
  process(rt, slots, n, pool) {
    const v = rt.ctx.view;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const err = parsePacket(v, pool.bufs[s], pool.start[s], pool.len[s], pool.wireLen[s], LinkType.ETHERNET);
      const dev = rt.ctx.devices.get(pool.device[s]);
      if (err !== 0) {
        pool.aux1[s] = err;
        if (rt.tracing) rt.trace(s, dev.label, `drop ${parseErrorName(err)}`, `parse error at byte ${v.errorOffset - pool.start[s]}`);
        rt.drop(s, Drop.MALFORMED_FRAME);
        continue;
      }
      const L = v.layers[0];
      pool.l3[s] = L.l3Offset;
      pool.l4[s] = L.l4Offset;
      if (dev.kind === DeviceKind.POD_ETH0) {
        rt.next(s, 0);
      } else {
        rt.observe(s, dev.id, 0);
        rt.next(s, 1);
      }
    }
  },
});
