/**
 * The virtual servers kube-proxy's IPVS proxier (pkg/proxy/ipvs/proxier.go) creates on one node:
 * ClusterIP:port (bound on kube-ipvs0), nodeIP:nodePort for NodePort/LoadBalancer Services, and each
 * LoadBalancer ingress IP:port. Real servers are the Ready endpoints with weight 1, added in sorted
 * "ip:port" order (newEndpoints.List()); the kernel puts each new dest at the head of its list.
 * externalTrafficPolicy Local: NodePort/LB virtual servers get only the node's local endpoints, or all
 * cluster endpoints when there are none locally (kubernetes#97081, syncEndpoint). internalTrafficPolicy
 * Local does the same for the ClusterIP virtual server. The cluster endpoints are CategorizeEndpoints':
 * none when the Service uses only Local policies (internalTrafficPolicy Local, and externalTrafficPolicy
 * Local or not externally accessible), so such a virtual server has no real servers on a node without one.
 */
import type { Cluster } from '../scenario/model.js';
import { parseIpv4 } from '../scenario/ipv4.js';
import { categorizeEndpoints, servicePortPlans, trafficPolicies, DEFAULT_SESSION_AFFINITY_SECONDS } from '../kubeproxy/node-rules.js';
import { KubeProxyError } from '../kubeproxy/errors.js';
import { makeRealServer, type IpvsService, type VirtualKind } from './real-server.js';
import type { SchedulerName } from './schedulers.js';

export interface IpvsBuildOptions {
  /** kube-proxy --ipvs-scheduler (default rr). */
  scheduler?: SchedulerName;
}

export function buildNodeIpvsServices(c: Cluster, nodeName: string, opts: IpvsBuildOptions = {}): IpvsService[] {
  const node = c.nodes.find((n) => n.name === nodeName);
  if (!node) {
    throw new KubeProxyError('KP_UNKNOWN_NODE', `kube-proxy: no node ${nodeName} in the scenario (nodes: ${c.nodes.map((n) => n.name).join(', ') || 'none'})`);
  }
  const scheduler = opts.scheduler ?? 'rr';
  const out: IpvsService[] = [];
  for (const p of servicePortPlans(c, nodeName)) {
    if (p.port.protocol === 'SCTP') continue; // dpemu models TCP and UDP virtual servers only
    const svc = p.service;
    // syncEndpoint: CategorizeEndpoints, then the local endpoints for a Local policy, else (and, kubernetes#97081,
    // when the node has none) the cluster endpoints, which are none unless the Service uses Cluster policy somewhere.
    const tp = trafficPolicies(p);
    const { clusterEndpoints, localEndpoints } = categorizeEndpoints(p.endpoints, tp.usesClusterEndpoints, tp.usesLocalEndpoints);
    const pick = (onlyLocal: boolean) => (onlyLocal && localEndpoints.length > 0 ? localEndpoints : clusterEndpoints);
    const affinity = svc.sessionAffinity === 'ClientIP' ? svc.sessionAffinityTimeoutSeconds || DEFAULT_SESSION_AFFINITY_SECONDS : 0;
    const add = (vip: string, port: number, kind: VirtualKind, onlyLocal: boolean, extLocal: boolean) => {
      const vip32 = parseIpv4(vip);
      if (vip32 === null) return;
      const eps = [...pick(onlyLocal)].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
      out.push({
        protocol: p.port.protocol === 'UDP' ? 'UDP' : 'TCP',
        vip,
        vip32: vip32 >>> 0,
        port,
        scheduler,
        persistentTimeout: affinity,
        netmask32: 0xffffffff,
        schedFallback: false,
        // proxier.go: `if proxier.ipvsScheduler == "mh" { serv.Flags |= FlagSourceHash }` (0x10 = IP_VS_SVC_F_SCHED2, mh-port)
        schedPort: scheduler === 'mh',
        dests: eps.map((e) => makeRealServer(e.ip, e.ip32, e.port)).reverse(),
        kind,
        servicePortName: p.name,
        local: extLocal,
      });
    };
    add(svc.clusterIp!, p.port.port, 'ClusterIP', svc.internalTrafficPolicy === 'Local', false);
    const extLocal = svc.externalTrafficPolicy === 'Local';
    if (svc.type !== 'ClusterIP' && p.port.nodePort > 0) add(node.ip, p.port.nodePort, 'NodePort', extLocal, extLocal);
    if (svc.type === 'LoadBalancer') for (const lb of svc.loadBalancerIps) add(lb, p.port.port, 'LoadBalancer', extLocal, extLocal);
  }
  return out;
}
