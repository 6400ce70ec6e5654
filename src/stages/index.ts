import type { StageDef } from '../engine/stage.js';
import type { NodeContext } from '../dataplane/node-context.js';
import { arpInput } from './arp-input.js';
import { ethernetInput } from './ethernet-input.js';
import { frameInput } from './frame-input.js';
import { ip4Defrag } from './ip4-defrag.js';
import { ip4Forward } from './ip4-forward.js';
import { ipvs4In } from './ipvs4.js';
import { ip4Input } from './ip4-input.js';
import { ip4Local } from './ip4-local.js';
import { ip4Lookup } from './ip4-lookup.js';
import { ip4Output } from './ip4-output.js';
import { nf4Forward, nf4LocalIn, nf4Output, nf4Postrouting, nf4Prerouting } from './netfilter.js';
import { policy4Egress, policy4Ingress } from './policy4.js';
import { underlayXmit } from './underlay.js';
import { vethXmit } from './veth.js';
import { sock4Connect } from './sock4.js';
import { nodeport4 } from './nodeport4.js';
import { vxlan4Decap, vxlan4Encap } from './vxlan.js';

import { S } from './names.js';
export { S };

/** The node graph (pod attach, netfilter hooks with conntrack and kube-proxy's rules, VXLAN), in dispatch order (a packet's usual walk, top to bottom). */
export function nodeStages(): StageDef<NodeContext>[] {
  return [frameInput, sock4Connect, vethXmit, ethernetInput, arpInput, ip4Input, ip4Defrag, nodeport4, ipvs4In, nf4Prerouting, policy4Egress, ip4Lookup, nf4LocalIn, ip4Local, vxlan4Decap, ip4Forward, nf4Forward, vxlan4Encap, nf4Output, nf4Postrouting, ip4Output, policy4Ingress, underlayXmit];
}
