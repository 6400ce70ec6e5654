/** One IPVS destination (real server) and one virtual server, as ip_vs_dest / ip_vs_service hold them. */
import type { SchedulerName } from './schedulers.js';

export interface RealServer {
  ip: string;
  ip32: number;
  port: number;
  weight: number;
  /** TCP connections in ESTABLISHED (the kernel's activeconns). */
  activeConns: number;
  /** Every other connection, UDP included (inactconns). */
  inactConns: number;
  /** Persistence templates pointing here (persistconns). */
  persistConns: number;
  /** IP_VS_DEST_F_OVERLOAD (upper threshold reached); kube-proxy never sets thresholds, so always false. */
  overloaded: boolean;
  /** "Masq": kube-proxy always uses NAT forwarding. */
  forward: 'Masq';
}

export type IpvsProtocol = 'TCP' | 'UDP';
export type VirtualKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface IpvsService {
  protocol: IpvsProtocol;
  vip: string;
  vip32: number;
  port: number;
  scheduler: SchedulerName;
  /** IP_VS_SVC_F_PERSISTENT timeout in seconds (ClientIP affinity: sessionAffinityConfig seconds), 0 = not persistent. */
  persistentTimeout: number;
  /** Persistence netmask (kube-proxy: 255.255.255.255 as uint32). */
  netmask32: number;
  /** IP_VS_SVC_F_SCHED1 / SCHED2 for sh and mh: fallback to another dest, include the source port in the hash. */
  schedFallback: boolean;
  schedPort: boolean;
  /** In the kernel's list order (list_add_rcu puts each new dest at the head: reverse of insertion). */
  dests: RealServer[];
  /** What kube-proxy created this virtual server for, and for which service port ("ns/name:port"). */
  kind: VirtualKind;
  servicePortName: string;
  /** externalTrafficPolicy Local on a NodePort / LoadBalancer virtual server (KUBE-*-LOCAL ipsets). */
  local: boolean;
}

export function makeRealServer(ip: string, ip32: number, port: number, weight = 1): RealServer {
  return { ip, ip32: ip32 >>> 0, port, weight, activeConns: 0, inactConns: 0, persistConns: 0, overloaded: false, forward: 'Masq' };
}
