import { dropReasonInfo } from '../engine/drop-reasons.js';
import { VERDICT_NAMES } from '../engine/pool.js';
import { DeviceKind, type DeviceTable } from '../dataplane/devices.js';
import { IdentityAllocator, podIdentityLabels, ReservedIdentity } from '../identity/identities.js';
import { parseErrorName } from '../packet/errors.js';
import { podByIp, nodeByIp, type Cluster } from '../scenario/model.js';
import type { PacketInfo } from './packet-info.js';
import { summarize } from './packet-info.js';
import { S } from '../stages/names.js';
import { rfc3339 } from './flow-proto.js';


/** Observation point of a sighting, as Cilium's trace points name it (flow.proto TraceObservationPoint). */
export function observationPoint(kind: number, dir: 0 | 1): string {
  switch (kind) {
    case DeviceKind.POD_ETH0: return dir ? 'FROM_ENDPOINT' : 'TO_ENDPOINT';
    case DeviceKind.HOST_VETH: return dir ? 'FROM_STACK' : 'TO_STACK';
    case DeviceKind.VXLAN: return dir ? 'TO_OVERLAY' : 'FROM_OVERLAY';
    default: return dir ? 'TO_NETWORK' : 'FROM_NETWORK';
  }
}

export interface FlowEvent {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly node: string;
  readonly verdict: number;
  readonly drop: number;
  readonly parseError: number;
  readonly info: PacketInfo;
  /** Device the event is observed at, -1 none. */
  readonly device: number;
  readonly dir: 0 | 1;
  readonly isReply: boolean | null;
  readonly frame: number;
  /** The stage the packet's walk ended at ('' for a hop): a policy drop's direction comes from it. */
  readonly stage?: string;
}

/**
 * flow.proto's traffic_direction of a policy drop (Cilium's drop notification says which policy direction
 * denied it): the ingress policy of the receiving pod or the egress policy of the sender. Other events carry
 * none: their direction depends on the connection's direction, which dpemu's flows do not report.
 */
export function policyDropDirection(e: FlowEvent): 'INGRESS' | 'EGRESS' | undefined {
  if (e.verdict !== 2) return undefined;
  if (e.stage === S.POLICY4_INGRESS) return 'INGRESS';
  if (e.stage === S.POLICY4_EGRESS) return 'EGRESS';
  return undefined;
}


/**
 * Builds the objects `hubble observe -o jsonpb` writes a line of (`{"flow": …, "node_name", "time"}`, proto
 * field names), so `hubble observe --input-file` reads them. flow-proto.ts checks each against the schema,
 * writes its canonical JSON (`canonicalFlowJson`: defaults left out, enum numbers the schema names by name;
 * dpemu-only drop reasons stay numbers, flow.proto's enum being open) and encodes it (`--flows-pb`).
 */
export class HubbleWriter {
  private readonly ids: IdentityAllocator;

  constructor(private readonly cluster: Cluster, private readonly devices: DeviceTable) {
    this.ids = new IdentityAllocator(cluster);
  }

  /** The observer.GetFlowsResponse object of one event in its JSON form. */
  response(e: FlowEvent): { flow: Record<string, unknown>; node_name: string; time: string } {
    const flow: Record<string, unknown> = {
      time: rfc3339(e.tsSec, e.tsNsec),
      verdict: VERDICT_NAMES[e.verdict] ?? 'VERDICT_UNKNOWN',
    };
    if (e.verdict === 2) {
      flow.drop_reason = e.drop;
      flow.drop_reason_desc = e.drop; // named by canonicalFlowJson where flow.proto has the reason
    }
    const p = e.info;
    if (p.ethSrc) flow.ethernet = { source: p.ethSrc, destination: p.ethDst };
    if (p.l3 === 'IPv4' || p.l3 === 'IPv6') flow.IP = { source: p.src, destination: p.dst, ipVersion: p.l3 };
    const l4 = this.l4(p);
    if (l4) flow.l4 = l4;
    if (p.l3 === 'IPv4') {
      flow.source = this.endpoint(p.src, e.node);
      flow.destination = this.endpoint(p.dst, e.node);
    }
    flow.Type = 'L3_L4';
    flow.node_name = e.node;
    flow.event_type = e.verdict === 2 ? { type: 1, sub_type: e.drop } : { type: 4 };
    const direction = policyDropDirection(e);
    if (direction) flow.traffic_direction = direction;
    if (e.device >= 0) {
      const d = this.devices.get(e.device);
      if (e.verdict !== 2) flow.trace_observation_point = observationPoint(d.kind, e.dir);
      flow.interface = { index: d.id + 1, name: d.name };
    }
    if (e.isReply !== null) flow.is_reply = e.isReply;
    flow.Summary = this.summary(e, p);
    return { flow, node_name: e.node, time: flow.time as string };
  }

  private summary(e: FlowEvent, p: PacketInfo): string {
    let s = `frame ${e.frame}: ${summarize(p)}`;
    if (e.verdict === 2) {
      const d = dropReasonInfo(e.drop);
      s += `; dropped: ${d.name} (${d.text})`;
      if (d.name === 'MALFORMED_FRAME') s += ` ${parseErrorName(e.parseError)}`;
    }
    return s;
  }

  private l4(p: PacketInfo): Record<string, unknown> | null {
    if (p.l4 === 'TCP') {
      const f = p.tcpFlags;
      const flags: Record<string, boolean> = {};
      const names: [number, string][] = [[0x01, 'FIN'], [0x02, 'SYN'], [0x04, 'RST'], [0x08, 'PSH'], [0x10, 'ACK'], [0x20, 'URG'], [0x40, 'ECE'], [0x80, 'CWR'], [0x100, 'NS']];
      for (const [bit, n] of names) if (f & bit) flags[n] = true;
      return { TCP: { source_port: p.sport, destination_port: p.dport, flags } };
    }
    if (p.l4 === 'UDP') return { UDP: { source_port: p.sport, destination_port: p.dport } };
    if (p.l4 === 'ICMPv4') return { ICMPv4: { type: p.icmpType, code: p.icmpCode } };
    if (p.l4 === 'ICMPv6') return { ICMPv6: { type: p.icmpType, code: p.icmpCode } };
    return null;
  }

  private endpoint(ip: string, observingNode: string): Record<string, unknown> {
    const pod = podByIp(this.cluster, ip);
    if (pod) {
      return {
        ID: this.cluster.pods.indexOf(pod) + 1,
        identity: this.ids.forPod(pod),
        namespace: pod.namespace,
        labels: podIdentityLabels(pod),
        pod_name: pod.name,
      };
    }
    const node = nodeByIp(this.cluster, ip);
    if (node) {
      const local = node.name === observingNode;
      return { identity: local ? ReservedIdentity.HOST : ReservedIdentity.REMOTE_NODE, labels: [local ? 'reserved:host' : 'reserved:remote-node'] };
    }
    return { identity: ReservedIdentity.WORLD, labels: ['reserved:world'] };
  }
}
