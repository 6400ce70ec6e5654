/**
 * The resolved scenario: plain typed objects, every default applied and every derived address filled in.
 * IPv4 addresses are kept as dotted text (for people and traces) and as uint32 (for the data path).
 * Produced by loadScenario(); nothing in here refers back to YAML.
 */
import type { NetworkPolicySpec, CiliumNetworkPolicySpec } from './policy-schema.js';
import { cidrContains, parseIpv4 } from './ipv4.js';

export type TunnelMode = 'vxlan' | 'native';
export type KubeProxyMode = 'iptables' | 'ipvs' | 'ebpf';
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

/** nf_conntrack timeouts in seconds, named after the kernel sysctls (nf_conntrack_tcp_timeout_syn_sent -> tcpSynSent). */
export interface ConntrackTimeouts {
  tcpSynSent: number;
  tcpSynRecv: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpCloseWait: number;
  tcpLastAck: number;
  tcpTimeWait: number;
  tcpClose: number;
  tcpUnacknowledged: number;
  udp: number;
  udpStream: number;
  icmp: number;
  generic: number;
}

export interface CidrModel {
  addr: string;
  addr32: number;
  prefix: number;
}

export interface NodeModel {
  name: string;
  /** 0-based position in Cluster.nodes (Cluster spec order, then Node objects by name). */
  index: number;
  ip: string;
  ip32: number;
  mac: string;
  nicName: string;
  podCidr: CidrModel;
  mtu: number;
  vtepMac: string;
  vtepIp: string;
  vtepIp32: number;
}

export interface NamespaceModel {
  name: string;
  labels: Record<string, string>;
}

export interface ContainerPortModel {
  name: string;
  port: number;
  protocol: L4Protocol;
}

export interface PodModel {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  nodeName: string;
  ip: string;
  ip32: number;
  /** True when status.podIP was not given and dpemu allocated the address. */
  ipAllocated: boolean;
  mac: string;
  hostVeth: string;
  hostVethMac: string;
  gatewayIp: string;
  gatewayIp32: number;
  ready: boolean;
  containerPorts: ContainerPortModel[];
  /** The workload that made this pod, or the controller a written Pod's ownerReferences name (same namespace). */
  owner?: { kind: string; name: string };
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface ServicePortModel {
  name: string;
  port: number;
  /** A number, or a container port name resolved per pod at endpoint time (as Kubernetes does). */
  targetPort: number | string;
  protocol: L4Protocol;
  /** 0 for ClusterIP Services. */
  nodePort: number;
}

export interface ServiceModel {
  name: string;
  namespace: string;
  type: ServiceType;
  /** null for headless Services (clusterIP: None). */
  clusterIp: string | null;
  clusterIp32: number | null;
  clusterIpAllocated: boolean;
  ports: ServicePortModel[];
  /** null when the Service has no selector (endpoints come from EndpointSlice/Endpoints objects). */
  selector: Record<string, string> | null;
  sessionAffinity: 'None' | 'ClientIP';
  sessionAffinityTimeoutSeconds: number;
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  loadBalancerIps: string[];
  /** spec.externalIPs (IPv4; kube-proxy iptables mode captures them like load-balancer IPs, without the firewall). */
  externalIps: string[];
  /** spec.loadBalancerSourceRanges, normalized (`203.0.113.7/24` -> `203.0.113.0/24`, as kube-proxy prints them). */
  loadBalancerSourceRanges: string[];
  /** LoadBalancer with externalTrafficPolicy Local: the TCP port kube-proxy's health server answers on (0: none). */
  healthCheckNodePort: number;
}

export interface EndpointPortModel {
  name: string;
  port: number;
  protocol: L4Protocol;
}

export interface EndpointAddressModel {
  ip: string;
  ip32: number;
  /** '' when neither the object nor the pod CIDRs say which node holds the address. */
  nodeName: string;
  /** '' when the address is not a known pod. */
  podName: string;
  ready: boolean;
  /**
   * EndpointSlice conditions.serving (nil = true) and conditions.terminating (nil = false), as kube-proxy's
   * EndpointSliceCache reads them: with no ready endpoint, kube-proxy falls back to serving terminating ones.
   */
  serving: boolean;
  terminating: boolean;
}

export interface EndpointModel {
  /** Object name, or `<service>-derived[-n]` when dpemu derived it from the selector. */
  name: string;
  service: string;
  namespace: string;
  source: 'EndpointSlice' | 'Endpoints' | 'derived';
  ports: EndpointPortModel[];
  endpoints: EndpointAddressModel[];
}

export interface NetworkPolicyModel {
  name: string;
  namespace: string;
  spec: NetworkPolicySpec;
  /** policyTypes as Kubernetes defaults them when missing or empty: Ingress, plus Egress when `egress` has a rule. */
  policyTypes: Array<'Ingress' | 'Egress'>;
}

export interface CiliumNetworkPolicyModel {
  name: string;
  /** '' for a CiliumClusterwideNetworkPolicy (as Cilium's ParseToCiliumRule takes it): no namespace is implied. */
  namespace: string;
  /** `spec` and every entry of `specs`, in that order. */
  specs: CiliumNetworkPolicySpec[];
}

/**
 * Cilium's conntrack and NAT map settings (agent flags bpf-ct-global-tcp-max, bpf-ct-global-any-max,
 * bpf-ct-timeout-regular-tcp, -tcp-syn, -tcp-fin, -any, bpf-nat-global-max); lifetimes in seconds.
 */
export interface EbpfConfig {
  ctGlobalTcpMax: number;
  ctGlobalAnyMax: number;
  ctTimeoutRegularTcp: number;
  ctTimeoutRegularTcpSyn: number;
  ctTimeoutRegularTcpFin: number;
  ctTimeoutRegularAny: number;
  natGlobalMax: number;
  /**
   * Cilium's enable-sctp (default off): without it bpf_lxc's conntrack cannot track SCTP and drops it at every
   * pod endpoint (CT_UNKNOWN_L4_PROTOCOL), as any protocol it does not know.
   */
  enableSctp: boolean;
}

/** Cilium's defaults for EbpfConfig (bpf/lib/conntrack.h lifetimes, pkg/option map sizes). */
export const EBPF_DEFAULTS: Readonly<EbpfConfig> = {
  ctGlobalTcpMax: 524288,
  ctGlobalAnyMax: 262144,
  ctTimeoutRegularTcp: 21600,
  ctTimeoutRegularTcpSyn: 60,
  ctTimeoutRegularTcpFin: 10,
  ctTimeoutRegularAny: 60,
  natGlobalMax: 524288,
  enableSctp: false,
};

export interface Cluster {
  name: string;
  seed: number;
  /**
   * The capture this scenario comes with (spec.capture, resolved against the scenario file's
   * directory): what `dpemu replay --scenario file.yaml` replays when no capture is named. null if none.
   */
  capture: string | null;
  serviceCidr: CidrModel;
  tunnel: { mode: TunnelMode; vni: number; port: number; udpCsum: boolean; deviceName: string; mtu: number };
  /**
   * kube-proxy mode, whether it manages the nodes, and (eBPF mode) the service load-balancing
   * algorithm as Cilium's bpf-lb-algorithm: random (default) or maglev with its table size.
   */
  kubeProxy: { mode: KubeProxyMode; manages: boolean; lbAlgorithm: 'random' | 'maglev'; maglevTableSize: number };
  /**
   * Network policy enforcement as Cilium's settings: policy-enforcement-mode default (enforce on
   * pods a policy selects), always (deny what no policy allows, everywhere), never; audit mode
   * reports what would be dropped (verdict AUDIT) and lets it pass.
   */
  policy: { enforcement: 'default' | 'always' | 'never'; audit: boolean };
  /** eBPF datapath settings (kube-proxy mode ebpf), Cilium's agent flags; see EbpfConfig. */
  ebpf: EbpfConfig;
  conntrack: { max: number; timeouts: ConntrackTimeouts };
  nodes: NodeModel[];
  namespaces: NamespaceModel[];
  pods: PodModel[];
  services: ServiceModel[];
  endpointSlices: EndpointModel[];
  networkPolicies: NetworkPolicyModel[];
  ciliumNetworkPolicies: CiliumNetworkPolicyModel[];
  warnings: string[];
}

export function podByIp(c: Cluster, ip: string | number): PodModel | undefined {
  const n = typeof ip === 'number' ? ip >>> 0 : null;
  return c.pods.find((p) => (n === null ? p.ip === ip : p.ip32 === n));
}

export function nodeByName(c: Cluster, name: string): NodeModel | undefined {
  return c.nodes.find((n) => n.name === name);
}

export function nodeByIp(c: Cluster, ip: string | number): NodeModel | undefined {
  const n = typeof ip === 'number' ? ip >>> 0 : null;
  return c.nodes.find((x) => (n === null ? x.ip === ip : x.ip32 === n));
}

/** The node whose pod CIDR holds this address (whether or not a pod has it). */
export function nodeForPodIp(c: Cluster, ip: string | number): NodeModel | undefined {
  const n = typeof ip === 'number' ? ip >>> 0 : parseIpv4(ip);
  if (n === null) return undefined;
  return c.nodes.find((x) => cidrContains(x.podCidr, n));
}

export function serviceByName(c: Cluster, namespace: string, name: string): ServiceModel | undefined {
  return c.services.find((s) => s.namespace === namespace && s.name === name);
}

export function endpointsForService(c: Cluster, namespace: string, name: string): EndpointModel[] {
  return c.endpointSlices.filter((e) => e.namespace === namespace && e.service === name);
}

