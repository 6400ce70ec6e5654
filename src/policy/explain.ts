/**
 * Why a policy decided what it did, for traces: the policies selecting the endpoint, the source rules
 * (`CiliumNetworkPolicy ns/name spec.ingress[0]`) whose peers and ports cover the flow, then the model's own
 * evidence: every rule of the pod's chain walk that matched (iptables), or the peer's identity and the policy map
 * entries the two lookups hit (eBPF, as `cilium bpf policy get` lists them). Only traced packets ask: it walks
 * and scans again rather than slowing the decision everyone takes.
 */
import { formatRule } from '../kubeproxy/render-save.js';
import type { RuleSet } from '../kubeproxy/rule.js';
import { CT_NEW } from '../kubeproxy/rule.js';
import { reservedLabel } from '../identity/identities.js';
import { ipv4ToString } from '../packet/format.js';
import { formatCidr } from '../scenario/ipv4.js';
import type { PodModel } from '../scenario/model.js';
import type { BpfEndpointPolicy } from './bpf-policy.js';
import { keyPartCovers, peerIdentities, portMatchParts } from './bpf-policy.js';
import type { PolicyContext } from './context.js';
import { iptablesVerdict, newIptResult } from './iptables-policy.js';
import { PROTO_NUMBER, flowProtoNumber, type Direction, type EndpointPolicy, type FlowProto, type PolicyEntry } from './ir.js';
import { policyKeyPorts, type PolicyKey, type PolicyValue } from './policy-map.js';

export interface ExplainInput {
  readonly pod: PodModel;
  readonly dir: Direction;
  readonly peer32: number;
  readonly proto: FlowProto;
  /** 0 for ICMP and protocols without ports. */
  readonly port: number;
  readonly endpoint: EndpointPolicy | undefined;
  readonly pc: PolicyContext;
  /** The iptables model's rule set, or null in the eBPF model. */
  readonly rules: RuleSet | null;
  readonly bpf: BpfEndpointPolicy | undefined;
}

export function explainDecision(x: ExplainInput): string[] {
  const who = `${x.pod.namespace}/${x.pod.name}`;
  const ep = x.endpoint;
  if (!ep || !ep[x.dir].enforced) return [`no policy selects ${who} for ${x.dir}: not enforced, every flow passes`];
  const identity = x.pc.ipcache(x.pod.nodeName).lookup(x.peer32);
  const idText = `${identity} ${identityLabels(x.pc, identity)}`;
  const lines = [`${x.dir} of ${who} is enforced, selected by ${ep.selectedBy.join(', ') || 'the enforcement mode (always)'}`];
  // The flow as both answers name it; the identity only where the model decides by it (eBPF).
  const flow = `${x.proto}${x.port ? `/${x.port}` : ''} ${x.dir === 'ingress' ? 'from' : 'to'} ${ipv4ToString(x.peer32)}${x.rules ? '' : ` (identity ${idText})`}`;
  const covering = ep[x.dir].entries.filter((e) => covers(x, e, identity));
  lines.push(covering.length > 0
    ? `rules covering ${flow}: ${covering.map((e) => `${e.deny ? 'deny' : e.http ? 'allow via L7 proxy' : 'allow'} by ${e.source}`).join('; ')}`
    : `no rule of ${ep.selectedBy.join(', ') || 'any policy'} covers ${flow}: default deny`);
  if (x.rules) {
    const w = iptablesVerdict(x.rules, x.pod, x.dir, x.peer32, x.proto, x.port, CT_NEW, newIptResult()).walk;
    for (let k = 0; k < w.matchedCount; k++) lines.push(`iptables: ${formatRule(w.matched[k])}`);
    if (!w.by) lines.push('iptables: the chain ended with no verdict: the built-in chain policy');
  } else if (x.bpf) {
    const egress = x.dir === 'egress' ? 1 : 0;
    const proto = flowProtoNumber(x.proto);
    for (const id of identity === 0 ? [0] : [identity, 0]) {
      const hit = longestMatch(x.bpf, id, egress, proto, x.port);
      lines.push(hit
        ? `policy map: ${keyText(hit[0])} -> ${hit[1].deny ? 'deny' : 'allow'}${hit[1].proxyPort ? `, proxy port ${hit[1].proxyPort}` : ''}`
        : `policy map: no entry for identity ${id} ${egress ? 'egress' : 'ingress'} ${x.proto}${x.port ? `/${x.port}` : ''}`);
    }
  }
  return lines;
}

/** An identity's labels as `cilium identity get` lists them: reserved, a pod label set, or a CIDR identity. */
function identityLabels(pc: PolicyContext, id: number): string {
  const reserved = reservedLabel(id);
  if (reserved !== undefined) return reserved;
  const set = pc.ids.entries().find(([, n]) => n === id)?.[0];
  if (set !== undefined) return `[${set.split(',').join(' ')}]`;
  const c = pc.cidrIdentities.find((x) => x.identity === id);
  return c ? `[cidr:${formatCidr(c.cidr)}]` : '[cidr]';
}

function covers(x: ExplainInput, e: PolicyEntry, identity: number): boolean {
  if (!e.peers.some((p) => peerIdentities(x.pc, p).some((id) => id === 0 || id === identity))) return false;
  if (e.ports.length === 0) return true;
  // The same expansion the eBPF model builds its keys from (ANY: TCP, UDP and SCTP; named ports per peer pod).
  const proto = flowProtoNumber(x.proto);
  return e.ports.some((m) => portMatchParts(x.pc, identity, m).some((kp) => keyPartCovers(kp, proto, x.port)));
}

/** The LPM entry of `identity` for (direction, proto, port), as the datapath's lookup finds it. */
function longestMatch(bp: BpfEndpointPolicy, identity: number, egress: 0 | 1, proto: number, port: number): [PolicyKey, PolicyValue] | undefined {
  let best: [PolicyKey, PolicyValue] | undefined;
  for (const [k, v] of bp.map.entries()) {
    if (k.identity !== identity || k.egress !== egress || !keyPartCovers(k, proto, port)) continue;
    if (!best || k.prefixLen > best[0].prefixLen) best = [k, v];
  }
  return best;
}

const protoText = (n: number): string => Object.entries(PROTO_NUMBER).find(([, x]) => x === n)?.[0] ?? String(n);

function keyText(k: PolicyKey): string {
  return `{identity ${k.identity}, ${k.egress ? 'egress' : 'ingress'}, ${policyKeyPorts(k, protoText)}, prefix ${k.prefixLen}}`;
}
