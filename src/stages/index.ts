import type { StageDef } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { arpInput } from './arp-input.js';
import { ethernetInput } from './ethernet-input.js';
import { frameInput } from './frame-input.js';
import { ip4Defrag } from './ip4-defrag.js';
import { ip4Forward } from './ip4-forward.js';
import { ip4Input } from './ip4-input.js';
import { ip4Local } from './ip4-local.js';
import { ip4Lookup } from './ip4-lookup.js';
import { ip4Output } from './ip4-output.js';
import { underlayXmit } from './underlay.js';
import { vethXmit } from './veth.js';
import { vxlan4Decap, vxlan4Encap } from './vxlan.js';

export { S } from './names.js';

/** The pod-to-pod graph, in dispatch order (a packet's usual walk, top to bottom). */
export function podToPodStages(): StageDef<NodeContext>[] {
  return [frameInput, vethXmit, ethernetInput, arpInput, ip4Input, ip4Defrag, ip4Lookup, ip4Local, vxlan4Decap, ip4Forward, ip4Output, vxlan4Encap, underlayXmit];
}
