/**
 * The rules kube-proxy (iptables mode, the 1.28+ layout of pkg/proxy/iptables/proxier.go) leaves on
 * one node, plus the jump rules it and kubelet insert into the built-in chains, as a RuleSet.
 *
 * Where kube-proxy's output depends on Go map order (the order of services inside KUBE-SERVICES,
 * KUBE-NODEPORTS and KUBE-EXTERNAL-SERVICES) dpemu sorts by service port name, as kube-proxy's own
 * tests do; every other order is kube-proxy's.
 */
import type { Cluster, EndpointModel, ServiceModel, ServicePortModel } from '../scenario/model.js';
import { cidrContains, parseIpv4, prefixMask, formatIpv4, parseCidr } from '../scenario/ipv4.js';
import { extChainName, fwChainName, sepChainName, servicePortName, svcChainName, svlChainName } from './chain-names.js';
import { KubeProxyError } from './errors.js';
import type { Chain, CidrMatch, Match, Rule, RuleProtocol, RuleSet, TableName, Target } from './rule.js';
import { BUILTIN_CHAINS, CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, statisticMatch } from './rule.js';

export interface NodeRulesOptions {
  /** kube-proxy --cluster-cidr (detect-local-mode ClusterCIDR). Default: the /16 holding every node's pod CIDR (kind's 10.244.0.0/16), widened until it does. */
  clusterCidr?: string;
  /** --iptables-masquerade-bit (default 14: mark 0x4000). */
  masqueradeBit?: number;
  /** --masquerade-all (default false). */
  masqueradeAll?: boolean;
  /** --iptables-localhost-nodeports (default true: NodePorts answer on 127.0.0.0/8, KUBE-FIREWALL guards it). */
  localhostNodePorts?: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal=1 drops the KUBE-FORWARD INVALID rule (default false). */
  conntrackTcpBeLiberal?: boolean;
  /** iptables supports --random-fully (every iptables >= 1.6.2; default true). */
  randomFully?: boolean;
  /** The empty KUBE-KUBELET-CANARY / KUBE-PROXY-CANARY chains kubelet and kube-proxy create (default true). */
  canaries?: boolean;
}

export const DEFAULT_SESSION_AFFINITY_SECONDS = 10800;
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/** One endpoint of one service port, as kube-proxy's endpointInfo sees it. */
export interface ServiceEndpoint {
  ip: string;
  ip32: number;
  port: number;
  /** "ip:port": what the SEP hash and the DNAT use. */
  text: string;
  ready: boolean;
  /** EndpointSlice conditions serving and terminating: the fallback when no endpoint is ready. */
  serving: boolean;
  terminating: boolean;
  local: boolean;
  chain: string;
}

/** Per service port: names and endpoints, for tools that want the plan rather than the rules. */
export interface ServicePortPlan {
  service: ServiceModel;
  port: ServicePortModel;
  name: string;
  protocol: RuleProtocol;
  svcChain: string;
  svlChain: string;
  extChain: string;
  /** KUBE-FW-: the loadBalancerSourceRanges firewall in front of the EXT chain. */
  fwChain: string;
  endpoints: ServiceEndpoint[];
}

const host = (ip: string, ip32: number): CidrMatch => ({ addr: ip, addr32: ip32 >>> 0, prefix: 32, negate: false });
const comment = (text: string): Match => ({ kind: 'comment', comment: text });
const l4 = (module: RuleProtocol, dport?: number): Match => (dport === undefined ? { kind: 'l4', module } : { kind: 'l4', module, dport });
const jump = (chain: string): Target => ({ kind: 'jump', chain });

function cidrMatch(text: string, negate: boolean): CidrMatch {
  const c = parseCidr(text);
  if (!c) throw new KubeProxyError('KP_BAD_MODE', `kube-proxy: ${text} is not an IPv4 CIDR (expected a.b.c.d/n)`);
  const addr32 = (c.addr32 & prefixMask(c.prefix)) >>> 0;
  return { addr: formatIpv4(addr32), addr32, prefix: c.prefix, negate };
}

/** The smallest /16-or-wider block holding every node's pod CIDR: kube-proxy's --cluster-cidr stand-in. */
export function deriveClusterCidr(c: Cluster): string | null {
  if (c.nodes.length === 0) return null;
  let prefix = Math.min(16, ...c.nodes.map((n) => n.podCidr.prefix));
  const first = c.nodes[0].podCidr.addr32;
  for (; prefix > 0; prefix--) {
    const m = prefixMask(prefix);
    if (c.nodes.every((n) => ((n.podCidr.addr32 & m) >>> 0) === ((first & m) >>> 0))) break;
  }
  return `${formatIpv4((first & prefixMask(prefix)) >>> 0)}/${prefix}`;
}

/** Endpoints of one service port on one node, sorted by "ip:port" text as kube-proxy's EndpointSliceCache does. */
export function serviceEndpoints(c: Cluster, svc: ServiceModel, port: ServicePortModel, nodeName: string): ServiceEndpoint[] {
  const spn = servicePortName(svc.namespace, svc.name, port.name);
  const proto = port.protocol.toLowerCase();
  const seen = new Map<string, ServiceEndpoint>();
  const slices: EndpointModel[] = c.endpointSlices.filter((e) => e.namespace === svc.namespace && e.service === svc.name);
  for (const slice of slices) {
    const ep = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (!ep || ep.port <= 0) continue;
    for (const a of slice.endpoints) {
      const text = `${a.ip}:${ep.port}`;
      if (seen.has(text)) continue;
      seen.set(text, {
        ip: a.ip,
        ip32: a.ip32 >>> 0,
        port: ep.port,
        text,
        ready: a.ready,
        serving: a.serving,
        terminating: a.terminating,
        local: a.nodeName !== '' && a.nodeName === nodeName,
        chain: sepChainName(spn, proto, text),
      });
    }
  }
  return [...seen.values()].sort((x, y) => (x.text < y.text ? -1 : x.text > y.text ? 1 : 0));
}

export function servicePortPlans(c: Cluster, nodeName: string): ServicePortPlan[] {
  const plans: ServicePortPlan[] = [];
  for (const svc of c.services) {
    if (svc.clusterIp === null) continue; // headless: kube-proxy skips it
    for (const port of svc.ports) {
      const name = servicePortName(svc.namespace, svc.name, port.name);
      const protocol = port.protocol.toLowerCase() as RuleProtocol;
      plans.push({
        service: svc,
        port,
        name,
        protocol,
        svcChain: svcChainName(name, protocol),
        svlChain: svlChainName(name, protocol),
        extChain: extChainName(name, protocol),
        fwChain: fwChainName(name, protocol),
        endpoints: serviceEndpoints(c, svc, port, nodeName),
      });
    }
  }
  return plans.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0));
}

class Builder {
  readonly chains: Record<TableName, Map<string, Rule[]>> = { filter: new Map(), nat: new Map() };
  constructor() {
    for (const t of ['filter', 'nat'] as const) for (const b of BUILTIN_CHAINS[t]) this.chains[t].set(b, []);
  }
  declare(table: TableName, chain: string): void {
    if (!this.chains[table].has(chain)) this.chains[table].set(chain, []);
  }
  add(table: TableName, chain: string, r: Omit<Rule, 'table' | 'chain'>): void {
    this.declare(table, chain);
    this.chains[table].get(chain)!.push({ table, chain, ...r });
  }
  finish(node: string): RuleSet {
    const out = (t: TableName): Chain[] => {
      const builtins = BUILTIN_CHAINS[t].map((n) => ({ name: n, builtin: true, policy: 'ACCEPT' as const, rules: this.chains[t].get(n)! }));
      const users = [...this.chains[t].keys()]
        .filter((n) => !BUILTIN_CHAINS[t].includes(n))
        .sort()
        .map((n) => ({ name: n, builtin: false, policy: null, rules: this.chains[t].get(n)! }));
      return [...builtins, ...users];
    };
    return { node, tables: { filter: out('filter'), nat: out('nat') } };
  }
}

/** Built-in chain jumps. kubelet appends KUBE-FIREWALL first; kube-proxy then Prepends its list in order, so the last listed ends up first. */
function writeJumps(b: Builder): void {
  const ctNew: Match = { kind: 'conntrack', ctstate: CT_NEW, negate: false };
  const prepend: Array<[TableName, string, string, string, boolean]> = [
    ['filter', 'INPUT', 'KUBE-EXTERNAL-SERVICES', 'kubernetes externally-visible service portals', true],
    ['filter', 'FORWARD', 'KUBE-EXTERNAL-SERVICES', 'kubernetes externally-visible service portals', true],
    ['filter', 'INPUT', 'KUBE-NODEPORTS', 'kubernetes health check service ports', false],
    ['filter', 'FORWARD', 'KUBE-SERVICES', 'kubernetes service portals', true],
    ['filter', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals', true],
    ['filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules', false],
    ['filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', true],
    ['filter', 'OUTPUT', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', true],
    ['filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kubernetes load balancer firewall', true],
    ['nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals', false],
    ['nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals', false],
    ['nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules', false],
  ];
  for (const chain of ['INPUT', 'OUTPUT']) b.add('filter', chain, { matches: [], target: jump('KUBE-FIREWALL') });
  for (const [table, src, dst, text, withCt] of prepend) {
    b.declare(table, dst);
    const r: Rule = { table, chain: src, matches: withCt ? [ctNew, comment(text)] : [comment(text)], target: jump(dst) };
    b.chains[table].get(src)!.unshift(r);
  }
}

/** Every rule kube-proxy and kubelet leave in the filter and nat tables of `nodeName`. */
export function renderNodeRules(c: Cluster, nodeName: string, opts: NodeRulesOptions = {}): RuleSet {
  if (!c.nodes.some((n) => n.name === nodeName)) {
    throw new KubeProxyError('KP_UNKNOWN_NODE', `kube-proxy: no node ${nodeName} in the scenario (nodes: ${c.nodes.map((n) => n.name).join(', ') || 'none'})`);
  }
  const bit = opts.masqueradeBit ?? 14;
  const masq = (1 << bit) >>> 0;
  const localhostNodePorts = opts.localhostNodePorts ?? true;
  const clusterCidrText = opts.clusterCidr ?? deriveClusterCidr(c);
  const podsCidr = clusterCidrText === null ? null : cidrMatch(clusterCidrText, false);
  const b = new Builder();

  if (opts.canaries ?? true) {
    for (const t of ['filter', 'nat'] as const) {
      b.declare(t, 'KUBE-KUBELET-CANARY');
      b.declare(t, 'KUBE-PROXY-CANARY');
    }
  }
  for (const n of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) b.declare('filter', n);
  for (const n of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) b.declare('nat', n);
  b.declare('filter', 'KUBE-FIREWALL');
  writeJumps(b);

  b.add('nat', 'KUBE-POSTROUTING', { matches: [{ kind: 'mark', value: masq, mask: masq, negate: true }], target: { kind: 'RETURN' } });
  b.add('nat', 'KUBE-POSTROUTING', { matches: [], target: { kind: 'MARK', args: { value: masq, mask: 0 } } });
  b.add('nat', 'KUBE-POSTROUTING', {
    matches: [comment('kubernetes service traffic requiring SNAT')],
    target: { kind: 'MASQUERADE', args: { randomFully: opts.randomFully ?? true } },
  });
  b.add('nat', 'KUBE-MARK-MASQ', { matches: [], target: { kind: 'MARK', args: { value: masq, mask: masq } } });
  // kubelet writes the same rule; kube-proxy writes it when localhost NodePorts are on (route_localnet=1).
  b.add('filter', 'KUBE-FIREWALL', {
    src: { ...cidrMatch('127.0.0.0/8', true) },
    dst: cidrMatch('127.0.0.0/8', false),
    matches: [comment('block incoming localnet connections'), { kind: 'conntrack', ctstate: CT_RELATED | CT_ESTABLISHED | CT_DNAT, negate: true }],
    target: { kind: 'DROP' },
  });

  const nodeIp32 = c.nodes.find((n) => n.name === nodeName)!.ip32;
  for (const p of servicePortPlans(c, nodeName)) writeServicePort(b, p, { masq, masqueradeAll: opts.masqueradeAll ?? false, podsCidr, nodeIp32 });

  const nodePortsJump: Omit<Rule, 'table' | 'chain'> = {
    matches: [comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain'), { kind: 'addrtype', dstType: 'LOCAL' }],
    target: jump('KUBE-NODEPORTS'),
  };
  if (!localhostNodePorts) nodePortsJump.dst = cidrMatch('127.0.0.0/8', true);
  b.add('nat', 'KUBE-SERVICES', nodePortsJump);

  if (!(opts.conntrackTcpBeLiberal ?? false)) {
    b.add('filter', 'KUBE-FORWARD', { matches: [{ kind: 'conntrack', ctstate: CT_INVALID, negate: false }], target: { kind: 'DROP' } });
  }
  b.add('filter', 'KUBE-FORWARD', {
    matches: [comment('kubernetes forwarding rules'), { kind: 'mark', value: masq, mask: masq, negate: false }],
    target: { kind: 'ACCEPT' },
  });
  b.add('filter', 'KUBE-FORWARD', {
    matches: [comment('kubernetes forwarding conntrack rule'), { kind: 'conntrack', ctstate: CT_RELATED | CT_ESTABLISHED, negate: false }],
    target: { kind: 'ACCEPT' },
  });
  return b.finish(nodeName);
}

interface WriteCtx {
  masq: number;
  masqueradeAll: boolean;
  podsCidr: CidrMatch | null;
  /** proxier.nodeIP: a source range holding it lets the node reach its own LB IPs (allowFromNode). */
  nodeIp32: number;
}

function writeServicePort(b: Builder, p: ServicePortPlan, w: WriteCtx): void {
  const svc = p.service;
  const proto = p.protocol;
  const clusterIp = svc.clusterIp!;
  const clusterIp32 = svc.clusterIp32 ?? parseIpv4(clusterIp) ?? 0;
  const { lbIps, externalIps, nodePort, externallyAccessible, internalLocal, externalLocal, usesClusterEndpoints, usesLocalEndpoints } = trafficPolicies(p);

  const { clusterEndpoints, localEndpoints, hasEndpoints } = categorizeEndpoints(p.endpoints, usesClusterEndpoints, usesLocalEndpoints);
  const reachable = new Map<string, ServiceEndpoint>();
  for (const e of [...clusterEndpoints, ...localEndpoints]) reachable.set(e.text, e);

  const usesClusterChain = clusterEndpoints.length > 0 && usesClusterEndpoints;
  const usesLocalChain = localEndpoints.length > 0 && usesLocalEndpoints;
  const internalChain = internalLocal ? p.svlChain : p.svcChain;
  const hasInternal = internalLocal ? localEndpoints.length > 0 : hasEndpoints;
  const externalPolicyChain = externalLocal ? p.svlChain : p.svcChain;
  const hasExternal = externalLocal ? localEndpoints.length > 0 : hasEndpoints;
  const usesExtChain = hasEndpoints && externallyAccessible;
  // loadBalancerSourceRanges put the KUBE-FW- chain between the LB IP rules and the EXT chain.
  const sourceRanges = svc.loadBalancerSourceRanges.map((r) => cidrMatch(r, false));
  const usesFwChain = hasEndpoints && lbIps.length > 0 && sourceRanges.length > 0;
  const lbChain = usesFwChain ? p.fwChain : p.extChain;

  let internalFilter: { target: Target; comment: string } | null = null;
  let externalFilter: { target: Target; comment: string } | null = null;
  if (!hasEndpoints) {
    const reject: Target = { kind: 'REJECT', args: { rejectWith: 'icmp-port-unreachable' } };
    internalFilter = { target: reject, comment: `${p.name} has no endpoints` };
    externalFilter = internalFilter;
  } else {
    if (!hasInternal) internalFilter = { target: { kind: 'DROP' }, comment: `${p.name} has no local endpoints` };
    if (!hasExternal) externalFilter = { target: { kind: 'DROP' }, comment: `${p.name} has no local endpoints` };
  }

  const vip = host(clusterIp, clusterIp32);
  const cipComment = `${p.name} cluster IP`;
  if (hasInternal) {
    b.add('nat', 'KUBE-SERVICES', { dst: vip, protocol: proto, matches: [comment(cipComment), l4(proto, p.port.port)], target: jump(internalChain) });
  } else {
    b.add('filter', 'KUBE-SERVICES', { dst: vip, protocol: proto, matches: [comment(internalFilter!.comment), l4(proto, p.port.port)], target: internalFilter!.target });
  }

  for (const ip of externalIps) {
    const ip32 = parseIpv4(ip)!;
    if (hasEndpoints) {
      b.add('nat', 'KUBE-SERVICES', { dst: host(ip, ip32), protocol: proto, matches: [comment(`${p.name} external IP`), l4(proto, p.port.port)], target: jump(p.extChain) });
    }
    if (!hasExternal) {
      b.add('filter', 'KUBE-EXTERNAL-SERVICES', { dst: host(ip, ip32), protocol: proto, matches: [comment(externalFilter!.comment), l4(proto, p.port.port)], target: externalFilter!.target });
    }
  }

  // Each LB IP as a /32 match, parsed once for the rules below.
  const lbHosts = lbIps.flatMap((lb) => {
    const lb32 = parseIpv4(lb);
    return lb32 === null ? [] : [host(lb, lb32)];
  });
  for (const lb of lbHosts) {
    if (hasEndpoints) {
      b.add('nat', 'KUBE-SERVICES', { dst: lb, protocol: proto, matches: [comment(`${p.name} loadbalancer IP`), l4(proto, p.port.port)], target: jump(lbChain) });
    }
    if (usesFwChain) {
      b.add('filter', 'KUBE-PROXY-FIREWALL', { dst: lb, protocol: proto, matches: [comment(`${p.name} traffic not accepted by ${p.fwChain}`), l4(proto, p.port.port)], target: { kind: 'DROP' } });
    }
  }
  if (!hasExternal) {
    for (const lb of lbHosts) {
      b.add('filter', 'KUBE-EXTERNAL-SERVICES', { dst: lb, protocol: proto, matches: [comment(externalFilter!.comment), l4(proto, p.port.port)], target: externalFilter!.target });
    }
  }

  if (nodePort !== 0) {
    if (hasEndpoints) {
      b.add('nat', 'KUBE-NODEPORTS', { protocol: proto, matches: [comment(p.name), l4(proto, nodePort)], target: jump(p.extChain) });
    }
    if (!hasExternal) {
      b.add('filter', 'KUBE-EXTERNAL-SERVICES', {
        protocol: proto,
        matches: [comment(externalFilter!.comment), { kind: 'addrtype', dstType: 'LOCAL' }, l4(proto, nodePort)],
        target: externalFilter!.target,
      });
    }
  }

  // kube-proxy's health server answers on this port whether or not the node has a local endpoint.
  if (svc.healthCheckNodePort > 0) {
    b.add('filter', 'KUBE-NODEPORTS', { protocol: 'tcp', matches: [comment(`${p.name} health check node port`), l4('tcp', svc.healthCheckNodePort)], target: { kind: 'ACCEPT' } });
  }

  if (hasInternal) {
    b.declare('nat', internalChain);
    if (w.masqueradeAll) {
      b.add('nat', internalChain, { dst: vip, protocol: proto, matches: [comment(cipComment), l4(proto, p.port.port)], target: jump('KUBE-MARK-MASQ') });
    } else if (w.podsCidr) {
      b.add('nat', internalChain, {
        src: { ...w.podsCidr, negate: true },
        dst: vip,
        protocol: proto,
        matches: [comment(cipComment), l4(proto, p.port.port)],
        target: jump('KUBE-MARK-MASQ'),
      });
    }
  }

  if (usesExtChain) {
    b.declare('nat', p.extChain);
    if (!externalLocal) {
      b.add('nat', p.extChain, { matches: [comment(`masquerade traffic for ${p.name} external destinations`)], target: jump('KUBE-MARK-MASQ') });
    } else {
      if (w.podsCidr) {
        b.add('nat', p.extChain, { src: { ...w.podsCidr }, matches: [comment(`pod traffic for ${p.name} external destinations`)], target: jump(p.svcChain) });
      }
      b.add('nat', p.extChain, {
        matches: [comment(`masquerade LOCAL traffic for ${p.name} external destinations`), { kind: 'addrtype', srcType: 'LOCAL' }],
        target: jump('KUBE-MARK-MASQ'),
      });
      b.add('nat', p.extChain, {
        matches: [comment(`route LOCAL traffic for ${p.name} external destinations`), { kind: 'addrtype', srcType: 'LOCAL' }],
        target: jump(p.svcChain),
      });
    }
    if (hasExternal) b.add('nat', p.extChain, { matches: [], target: jump(externalPolicyChain) });
  }

  if (usesFwChain) {
    b.declare('nat', p.fwChain);
    const lbComment = comment(`${p.name} loadbalancer IP`);
    for (const r of sourceRanges) b.add('nat', p.fwChain, { src: r, matches: [lbComment], target: jump(p.extChain) });
    // A VIP-like LB's address is local on the node, so the node's own requests come from the VIP itself.
    if (sourceRanges.some((r) => cidrContains(r, w.nodeIp32))) {
      for (const lb of lbHosts) b.add('nat', p.fwChain, { src: lb, matches: [lbComment], target: jump(p.extChain) });
    }
    // The end of the chain: not DNATed, so KUBE-PROXY-FIREWALL's rule for this LB IP drops it (a rule without a target).
    b.add('nat', p.fwChain, { matches: [comment(`other traffic to ${p.name} will be dropped by KUBE-PROXY-FIREWALL`)], target: { kind: 'NONE' } });
  }

  if (usesClusterChain) writeServiceToEndpoints(b, p, p.svcChain, clusterEndpoints);
  if (usesLocalChain) writeServiceToEndpoints(b, p, p.svlChain, localEndpoints);

  for (const e of reachable.values()) {
    b.add('nat', e.chain, { src: host(e.ip, e.ip32), matches: [comment(p.name)], target: jump('KUBE-MARK-MASQ') });
    const m: Match[] = [comment(p.name)];
    if (svc.sessionAffinity === 'ClientIP') m.push({ kind: 'recent', mode: 'set', name: e.chain, mask: '255.255.255.255' });
    m.push(l4(proto));
    b.add('nat', e.chain, { protocol: proto, matches: m, target: { kind: 'DNAT', args: { addr: e.ip, addr32: e.ip32, port: e.port } } });
  }
}

export interface TrafficPolicies {
  lbIps: readonly string[];
  externalIps: readonly string[];
  /** 0 unless the Service type exposes one. */
  nodePort: number;
  /** ServicePort.ExternallyAccessible(): a NodePort, an external IP or a LoadBalancer IP. */
  externallyAccessible: boolean;
  internalLocal: boolean;
  /** ExternalPolicyLocal(): only when externally accessible. */
  externalLocal: boolean;
  /** UsesClusterEndpoints() / UsesLocalEndpoints() (pkg/proxy/serviceport.go). */
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
}

/** The traffic-policy predicates of one service port, as kube-proxy's ServicePort interface answers them. */
export function trafficPolicies(p: ServicePortPlan): TrafficPolicies {
  const svc = p.service;
  const lbIps = svc.type === 'LoadBalancer' ? svc.loadBalancerIps : [];
  const nodePort = svc.type === 'ClusterIP' ? 0 : p.port.nodePort;
  const externalIps = svc.externalIps;
  const externallyAccessible = nodePort !== 0 || lbIps.length > 0 || externalIps.length > 0;
  const internalLocal = svc.internalTrafficPolicy === 'Local';
  const externalLocal = svc.externalTrafficPolicy === 'Local' && externallyAccessible;
  return {
    lbIps,
    externalIps,
    nodePort,
    externallyAccessible,
    internalLocal,
    externalLocal,
    usesClusterEndpoints: !internalLocal || (externallyAccessible && !externalLocal),
    usesLocalEndpoints: internalLocal || externalLocal,
  };
}

export interface CategorizedEndpoints {
  clusterEndpoints: ServiceEndpoint[];
  localEndpoints: ServiceEndpoint[];
  /** Some endpoint anywhere in the cluster is usable: otherwise kube-proxy REJECTs. */
  hasEndpoints: boolean;
}

const servingTerminating = (e: ServiceEndpoint): boolean => e.serving && e.terminating;

/**
 * proxy.CategorizeEndpoints (pkg/proxy/topology.go, without topology hints): Ready endpoints; when
 * none is ready (cluster-wide for Cluster policy, on this node for Local), the serving terminating ones,
 * so connections still reach pods that are shutting down gracefully rather than being rejected.
 */
export function categorizeEndpoints(eps: readonly ServiceEndpoint[], usesCluster: boolean, usesLocal: boolean): CategorizedEndpoints {
  let clusterEndpoints: ServiceEndpoint[] = [];
  let hasEndpoints = false;
  if (usesCluster) {
    clusterEndpoints = eps.filter((e) => e.ready);
    if (clusterEndpoints.length === 0) clusterEndpoints = eps.filter(servingTerminating);
    hasEndpoints = clusterEndpoints.length > 0;
  }
  let localEndpoints: ServiceEndpoint[] = [];
  if (usesLocal) {
    if (eps.some((e) => e.ready || servingTerminating(e))) hasEndpoints = true;
    localEndpoints = eps.filter((e) => e.local && e.ready);
    if (localEndpoints.length === 0) localEndpoints = eps.filter((e) => e.local && servingTerminating(e));
  }
  return { clusterEndpoints, localEndpoints, hasEndpoints };
}

function writeServiceToEndpoints(b: Builder, p: ServicePortPlan, chain: string, eps: ServiceEndpoint[]): void {
  b.declare('nat', chain);
  if (p.service.sessionAffinity === 'ClientIP') {
    const seconds = p.service.sessionAffinityTimeoutSeconds || DEFAULT_SESSION_AFFINITY_SECONDS;
    for (const e of eps) {
      b.add('nat', chain, {
        matches: [comment(`${p.name} -> ${e.text}`), { kind: 'recent', mode: 'rcheck', name: e.chain, seconds, reap: true, mask: '255.255.255.255' }],
        target: jump(e.chain),
      });
    }
  }
  eps.forEach((e, i) => {
    const m: Match[] = [comment(`${p.name} -> ${e.text}`)];
    if (i < eps.length - 1) m.push(statisticMatch(eps.length - i));
    b.add('nat', chain, { matches: m, target: jump(e.chain) });
  });
}
