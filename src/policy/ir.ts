/**
 * The per-endpoint intermediate representation both data plane models are built from. Peers are kept in
 * source form (selectors, CIDRs, entities): the eBPF model resolves them to identities through the identity
 * allocator and the ipcache, the iptables model to addresses, so the parity test compares two independent
 * resolutions of the same rules.
 */
import type { Ipv4Cidr } from '../scenario/ipv4.js';
import type { PodModel } from '../scenario/model.js';
import type { LabelContext } from './selectors.js';

export type Direction = 'ingress' | 'egress';
export type PolicyProto = 'TCP' | 'UDP' | 'SCTP' | 'ICMP';
/** IANA protocol numbers, the `protocol` byte of Cilium's policy key (0 = any). */
export const PROTO_NUMBER: Readonly<Record<PolicyProto | 'ANY', number>> = { ANY: 0, ICMP: 1, TCP: 6, UDP: 17, SCTP: 132 };
export const L4_PROTOS: readonly PolicyProto[] = ['TCP', 'UDP', 'SCTP'];

/** A flow's protocol as policy sees it: `other` is any IP protocol without ports (GRE, ESP, IGMP...). */
export type FlowProto = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'other';

/** Whether rules match this protocol by destination port (ICMP by type, `other` protocols have none). */
export function hasPorts(p: FlowProto): boolean {
  return p !== 'icmp' && p !== 'other';
}

/**
 * The protocol byte of a policy-map lookup. Every `other` protocol looks up as 255 (IANA reserved): no L4 key
 * names it, so only protocol-wildcard (L3-only) entries cover it, as for any real protocol number without keys.
 */
export function flowProtoNumber(p: FlowProto): number {
  return p === 'other' ? 255 : PROTO_NUMBER[p.toUpperCase() as PolicyProto];
}

/** Entities that select something in a dpemu cluster (the rest of Cilium's list selects nothing here). */
export type EntityName = 'world' | 'cluster' | 'host' | 'remote-node' | 'kube-apiserver' | 'health' | 'init' | 'unmanaged' | 'ingress' | 'none';

export type Peer =
  /** Every peer (Kubernetes: rule without from/to; Cilium: entity all or an L4-only rule). Identity 0 in the map. */
  | { kind: 'any' }
  /** Pods whose label context matches; `text` is for traces and chain comments. */
  | { kind: 'endpoints'; match: (ctx: LabelContext) => boolean; text: string }
  /** Non-cluster addresses inside `cidr` and outside every `except`. */
  | { kind: 'cidr'; cidr: Ipv4Cidr; except: Ipv4Cidr[] }
  | { kind: 'entity'; entity: EntityName };

/** `proto` ANY with a port means TCP, UDP and SCTP (as Cilium expands it). port 0 = every port. */
export interface PortMatch {
  proto: PolicyProto | 'ANY';
  port: number;
  endPort: number;
  /** Egress named port: resolved against each destination pod (ingress names are resolved at compile time). */
  name?: string;
}

export interface HttpRule {
  method?: RegExp;
  path?: RegExp;
  host?: RegExp;
  /** `Name` (present) or `Name: value` (equal), header names case-insensitive. */
  headers: Array<{ name: string; value?: string }>;
  text: string;
}

export interface PolicyEntry {
  deny: boolean;
  peers: Peer[];
  /** Empty: every protocol and port. */
  ports: PortMatch[];
  /** Non-null: allowed traffic on these ports is redirected to the HTTP proxy, which applies these rules. */
  http: HttpRule[] | null;
  /** `CiliumNetworkPolicy ns/name spec.ingress[0]`: where the entry came from. */
  source: string;
  /** Policy name as used in chain names: `ns/name`. */
  policy: string;
}

export interface DirectionPolicy {
  /** Default deny is in force (a policy selects the pod for this direction, or enforcement mode always). */
  enforced: boolean;
  entries: PolicyEntry[];
}

export interface EndpointPolicy {
  pod: PodModel;
  /** `namespace/name`. */
  key: string;
  ctx: LabelContext;
  ingress: DirectionPolicy;
  egress: DirectionPolicy;
  /** Policies selecting the pod, `Kind ns/name`, in evaluation order. */
  selectedBy: string[];
}

export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}
