import { PacketView } from '../packet/view.js';
import type { Cluster, NodeModel } from '../scenario/model.js';
import { DeviceKind, DeviceTable, macBytes } from './devices.js';
import { IcmpRateLimiter } from './icmp.js';
import { ReassemblyTable } from '../stages/ip4-defrag.js';
import { ConntrackTable } from '../conntrack/table.js';
import { deriveClusterCidr, renderNodeRules } from '../kubeproxy/node-rules.js';
import { buildNodeIpvsServices } from '../ipvs/build.js';
import { Ipvs } from '../ipvs/ipvs.js';
import { IpvsMasquerade } from '../ipvs/masquerade.js';
import { RecentTable } from '../kubeproxy/recent.js';
import type { RuleSet } from '../kubeproxy/rule.js';
import type { WalkContext } from '../kubeproxy/walk.js';
import { Prng } from '../util/prng.js';
import { EbpfNodeState } from '../ebpf/state.js';
import { PolicyEngine } from '../policy/engine.js';
import type { ProxiedFlow } from '../stages/policy4.js';
import { RouteKind, RouteTable, maskOf, routeText } from './routes.js';

/** Everything one cluster node's stages read: its devices, routes, neighbours, FDB and counters. */
export interface NodeContext {
  readonly cluster: Cluster;
  readonly node: NodeModel;
  readonly index: number;
  readonly devices: DeviceTable;
  readonly routes: RouteTable;
  /** (device id * 2^32 + IPv4) -> MAC: the static neighbours the modeled CNI installs. */
  readonly neighbours: Map<number, Uint8Array>;
  /** VXLAN FDB: remote VTEP MAC (48-bit number) -> remote node underlay IPv4. */
  readonly fdb: Map<number, number>;
  /** Scratch view for stages that parse (one per node; the engine runs one stage at a time). */
  readonly view: PacketView;
  readonly nic: number;
  readonly vxlanDev: number;
  /** Outer IPv4 ID counter for packets this node originates (the kernel's ip_idents role). */
  ipId: number;
  readonly hashSeed: number;
  /** Proxy ARP answers for this gateway address on host veths (Calico's 169.254.1.1). */
  readonly gatewayIps: ReadonlySet<number>;
  readonly icmpLimiter: IcmpRateLimiter;
  readonly reassembly: ReassemblyTable;
  /** The node's nf_conntrack table (every node tracks: kube-proxy's rules need it). */
  readonly conntrack: ConntrackTable;
  /** kube-proxy's iptables rules for this node (filter and nat), null when it does not manage the node in iptables mode. */
  readonly rules: RuleSet | null;
  /** The node's seeded PRNG (statistic matches, NAT port search). */
  readonly rng: Prng;
  /** Rule-walk context reused for every packet (`now` set per call). */
  readonly walkCtx: WalkContext;
  /** Addresses of this node (`-m addrtype --dst-type LOCAL`). */
  readonly localAddrs: ReadonlySet<number>;
  /** kube-proxy IPVS mode: the node's virtual servers and connection table, null otherwise. */
  readonly ipvs: Ipvs | null;
  readonly ipvsMasq: IpvsMasquerade | null;
  /** Network policy (one engine for the cluster, shared by the nodes), null when the scenario has none. */
  readonly policy: PolicyEngine | null;
  /** Flows REDIRECTed to the L7 proxy whose first request is still to be seen: (ct entry, direction). */
  readonly proxied: Map<number, ProxiedFlow>;
  /** kube-proxy mode ebpf (Cilium kube-proxy replacement): the node's LB/ipcache/CT maps and socket LB state, null otherwise. */
  readonly ebpf: EbpfNodeState | null;
}

export function neighbourKey(dev: number, ip: number): number {
  return dev * 4294967296 + (ip >>> 0);
}

export function macKey(buf: Uint8Array, off: number): number {
  return ((buf[off] << 8) | buf[off + 1]) * 4294967296 + (((buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5]) >>> 0);
}

/**
 * Builds each node's view of the cluster as the modeled CNI (Calico-style pod attach, Flannel-style
 * VXLAN or native routing) would program it. Routes per node:
 *   <node ip>/32 local, <vtep ip>/32 local (vxlan),
 *   <underlay ip>/24 dev eth0 (the connected subnet of `ip addr add <ip>/24`), every node /32 dev eth0,
 *   <pod ip>/32 dev cali… scope link for each local pod,
 *   <remote pod cidr> via <remote vtep ip> dev flannel.1 onlink (vxlan) or via <remote node ip> dev eth0 (native).
 * No default route: an unroutable destination gets ICMP network unreachable, as on the kernel test bed.
 */
export function buildNodeContexts(cluster: Cluster, devices: DeviceTable): NodeContext[] {
  const gateways = new Set(cluster.pods.map((p) => p.gatewayIp32 >>> 0));
  // eBPF mode enforces with per-endpoint policy maps (Cilium); otherwise with iptables chains (Calico-style).
  const policy = cluster.networkPolicies.length + cluster.ciliumNetworkPolicies.length > 0 || cluster.policy.enforcement === 'always'
    ? new PolicyEngine(cluster, { mode: cluster.kubeProxy.mode === 'ebpf' ? 'ebpf' : 'iptables', enforcement: cluster.policy.enforcement, audit: cluster.policy.audit })
    : null;
  return cluster.nodes.map((node) => {
    const routes = new RouteTable();
    const neighbours = new Map<number, Uint8Array>();
    const fdb = new Map<number, number>();
    const nic = devices.nicOf[node.index];
    const vx = devices.vxlanOf[node.index];
    routes.add({ prefix: node.ip32, len: 32, kind: RouteKind.LOCAL, dev: nic, via: 0, text: `local ${node.ip} dev ${node.nicName} proto kernel scope host` });
    if (vx >= 0) routes.add({ prefix: node.vtepIp32, len: 32, kind: RouteKind.LOCAL, dev: vx, via: 0, text: `local ${node.vtepIp} dev ${cluster.tunnel.deviceName} proto kernel scope host` });
    routes.add({ prefix: node.ip32 & maskOf(24), len: 24, kind: RouteKind.LINK, dev: nic, via: 0, text: routeText(node.ip32 & maskOf(24), 24, `dev ${node.nicName} proto kernel scope link src ${node.ip}`) });
    for (const other of cluster.nodes) {
      neighbours.set(neighbourKey(nic, other.ip32), macBytes(other.mac));
      if (other === node) continue;
      routes.add({ prefix: other.ip32, len: 32, kind: RouteKind.LINK, dev: nic, via: 0, text: `${other.ip} dev ${node.nicName} scope link` });
      if (vx >= 0) {
        routes.add({ prefix: other.podCidr.addr32, len: other.podCidr.prefix, kind: RouteKind.VIA, dev: vx, via: other.vtepIp32, text: routeText(other.podCidr.addr32, other.podCidr.prefix, `via ${other.vtepIp} dev ${cluster.tunnel.deviceName} onlink`) });
        neighbours.set(neighbourKey(vx, other.vtepIp32), macBytes(other.vtepMac));
        const m = macBytes(other.vtepMac);
        fdb.set(macKey(m, 0), other.ip32);
      } else {
        routes.add({ prefix: other.podCidr.addr32, len: other.podCidr.prefix, kind: RouteKind.VIA, dev: nic, via: other.ip32, text: routeText(other.podCidr.addr32, other.podCidr.prefix, `via ${other.ip} dev ${node.nicName}`) });
      }
    }
    for (const d of devices.ofNode(node.index)) {
      if (d.kind !== DeviceKind.HOST_VETH || !d.pod) continue;
      routes.add({ prefix: d.pod.ip32, len: 32, kind: RouteKind.LINK, dev: d.id, via: 0, text: `${d.pod.ip} dev ${d.name} scope link` });
      neighbours.set(neighbourKey(d.id, d.pod.ip32), macBytes(d.pod.mac));
    }
    const rng = new Prng((cluster.seed * 1000003 + node.index) >>> 0);
    const kp = cluster.kubeProxy;
    const rules = kp.manages && kp.mode === 'iptables' ? renderNodeRules(cluster, node.name)
      : kp.manages && kp.mode === 'ipvs' ? ipvsModeRules(cluster, node.name) : null;
    const ipvsServices = kp.manages && kp.mode === 'ipvs' ? buildNodeIpvsServices(cluster, node.name) : null;
    const ipvs = ipvsServices ? new Ipvs(ipvsServices) : null;
    const cidr = ipvsServices ? deriveClusterCidr(cluster) : null;
    const ipvsMasq = ipvsServices ? new IpvsMasquerade(ipvsServices, { clusterCidr: cidr ? cidrOf(cidr) : null, masqueradeAll: false }) : null;
    return {
      cluster,
      node,
      index: node.index,
      devices,
      routes,
      neighbours,
      fdb,
      // Not strict about VXLAN flags: a frame with bad flags is a well-formed UDP datagram on the
      // wire; vxlan4-decap applies vxlan_rcv's check and counts INVALID_VXLAN_FLAGS (with strict
      // parsing frame-input dropped it as MALFORMED_FRAME before it reached the node).
      view: new PacketView({ vxlanPorts: [cluster.tunnel.port], vxlanStrictFlags: false }),
      nic,
      vxlanDev: vx,
      ipId: (cluster.seed * 2654435761 + node.index * 40503) & 0xffff,
      hashSeed: (cluster.seed ^ 0x5bd1e995) >>> 0,
      gatewayIps: gateways,
      icmpLimiter: new IcmpRateLimiter(),
      reassembly: new ReassemblyTable(),
      conntrack: new ConntrackTable(cluster.conntrack.max, cluster.conntrack.timeouts, { seed: cluster.seed + node.index }),
      rules,
      rng,
      walkCtx: { rng, recent: new RecentTable(), now: 0 },
      localAddrs: new Set([...(vx >= 0 ? [node.ip32 >>> 0, node.vtepIp32 >>> 0] : [node.ip32 >>> 0]), ...(ipvsServices ?? []).filter((v) => v.kind !== 'NodePort').map((v) => v.vip32 >>> 0)]),
      ipvs,
      ipvsMasq,
      policy,
      proxied: new Map(),
      ebpf: kp.mode === 'ebpf' ? new EbpfNodeState(cluster, node, { lbAlgorithm: kp.lbAlgorithm, maglevTableSize: kp.maglevTableSize }) : null,
    };
  });
}

/**
 * What kube-proxy leaves in iptables in IPVS mode, as far as dpemu's pipeline needs it: the same
 * filter table (KUBE-FORWARD drops ctstate INVALID, accepts marked and established traffic) and
 * the masquerade half of the nat table (KUBE-MARK-MASQ, KUBE-POSTROUTING). Service translation is
 * IPVS's (ipvs4-in), so the nat PREROUTING/OUTPUT service chains are left out; the masquerade mark
 * comes from the IPVS-mode ipset rules (src/ipvs/masquerade.ts).
 */
function ipvsModeRules(cluster: Cluster, nodeName: string): RuleSet {
  const rs = renderNodeRules(cluster, nodeName);
  const keep = new Set(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING']);
  const nat = rs.tables.nat
    .filter((c) => keep.has(c.name))
    .map((c) => (c.name === 'PREROUTING' || c.name === 'OUTPUT' ? { ...c, rules: [] } : c));
  return { node: rs.node, tables: { filter: rs.tables.filter, nat } };
}

function cidrOf(text: string): { addr32: number; prefix: number } {
  const [a, p] = text.split('/');
  const o = a.split('.').map(Number);
  return { addr32: ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0, prefix: Number(p) };
}
