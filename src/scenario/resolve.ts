/**
 * Stage 2 of loading: cross-object checks, defaults, deterministic allocation and endpoint derivation.
 * Input order never matters: objects are sorted by kind-specific keys before anything is allocated.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import type { ScenarioProblem } from './errors.js';
import { WORKLOAD_KINDS, fieldPath, objectAt, problemText, type DocSource, type ParsedObject, type PathKey } from './documents.js';
import { expandWorkloads, ownerReference } from './workloads.js';
import { cidrContains, cidrLast, formatCidr, formatIpv4, normalizeMac, parseCidr, parseIpv4 } from './ipv4.js';
import {
  DEFAULT_AFFINITY_TIMEOUT,
  DEFAULT_CONNTRACK_MAX,
  DEFAULT_MTU,
  DEFAULT_SEED,
  DEFAULT_SERVICE_CIDR,
  DEFAULT_VNI,
  DEFAULT_VXLAN_DEVICE,
  DEFAULT_VXLAN_PORT,
  KERNEL_CT_TIMEOUTS,
  KUBE_PROXY_CT_OVERRIDES,
  NODE_PORT_MAX,
  NODE_PORT_MIN,
  VXLAN_OVERHEAD,
} from './defaults.js';
import { HOST_VETH_MAC, NODE_NIC_NAME, POD_GATEWAY_IP, hostVethName, nodeNicMac, podMac, vtepMac } from './addressing.js';
import { EBPF_DEFAULTS } from './model.js';
import type {
  CidrModel,
  Cluster,
  CiliumNetworkPolicyModel,
  ConntrackTimeouts,
  ContainerPortModel,
  EndpointAddressModel,
  EndpointModel,
  EndpointPortModel,
  KubeProxyMode,
  L4Protocol,
  NamespaceModel,
  NetworkPolicyModel,
  NodeModel,
  PodModel,
  ServiceModel,
  ServicePortModel,
} from './model.js';

type Of<K extends ParsedObject['kind']> = Extract<ParsedObject, { kind: K }>;

const byKey = <T extends { namespace: string; name: string }>(a: T, b: T): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Where an object is, for warnings and problems: an item of a `kind: List` is named too (`items[2]`), as skips of unmodelled kinds name it. */
const where = objectAt;
/** core/v1 ConditionStatus values. */
const CONDITION_STATUSES: ReadonlySet<string> = new Set(['True', 'False', 'Unknown']);

/** The document alone, for text followed by a field path (fieldPath already starts with the List item). */
function docOf(src: DocSource): string {
  return `${src.file}:doc ${src.doc}`;
}

/** The workload that made a pod, or the controller a written pod's ownerReferences name. */
function ownerOf(o: Of<'Pod'>): { owner?: { kind: string; name: string } } {
  const owner = o.owner ?? ownerReference(o.value.metadata);
  return owner ? { owner: { kind: owner.kind, name: owner.name } } : {};
}

export interface ResolveResult {
  cluster: Cluster | null;
  problems: ScenarioProblem[];
  warnings: string[];
}

/** Node under construction: fields may come from the Cluster spec and/or a Node object. */
interface NodeDraft {
  name: string;
  ip?: { text: string; src: DocSource; path: PathKey[] };
  podCidr?: { text: string; src: DocSource; path: PathKey[] };
  mac?: string;
  mtu: number;
  src: DocSource;
  path: PathKey[];
}

export function resolve(objects: readonly ParsedObject[], firstFile: string): ResolveResult {
  const problems: ScenarioProblem[] = [];
  const warnings: string[] = [];
  const report = (src: DocSource, path: PathKey[], message: string): void => {
    problems.push({ file: src.file, doc: src.doc, line: src.locate(path), path: fieldPath(src, path), message });
  };
  const all = <K extends ParsedObject['kind']>(kind: K): Of<K>[] =>
    (objects.filter((o) => o.kind === kind) as Of<K>[]).slice().sort(byKey);

  // Duplicate objects: the same kind/namespace/name twice is always a mistake in a scenario.
  const seen = new Map<string, DocSource>();
  for (const o of objects) {
    const id = `${o.kind}/${o.namespace}/${o.name}`;
    const first = seen.get(id);
    if (first) {
      const shown = o.namespace ? `${o.namespace}/${o.name}` : o.name;
      report(o.src, ['metadata', 'name'], `expected each ${o.kind} once, but ${shown} is already defined at ${where(first)}`);
    } else seen.set(id, o.src);
  }

  // ---- Cluster settings
  const clusters = objects.filter((o): o is Of<'Cluster'> => o.kind === 'Cluster');
  for (const extra of clusters.slice(1)) {
    report(extra.src, ['kind'], `expected one Cluster object per scenario; the first is at ${where(clusters[0].src)}`);
  }
  const cdoc = clusters[0];
  const spec = cdoc?.value.spec;
  const serviceCidr = parseCidr(spec?.serviceCIDR ?? DEFAULT_SERVICE_CIDR)!;

  // ---- Nodes: Cluster spec order, then Node objects by name
  const drafts = new Map<string, NodeDraft>();
  spec?.nodes?.forEach((n, i) => {
    const path: PathKey[] = ['spec', 'nodes', i];
    if (drafts.has(n.name)) {
      report(cdoc!.src, [...path, 'name'], `expected unique node names, got "${n.name}" twice`);
      return;
    }
    drafts.set(n.name, {
      name: n.name,
      ip: n.ip ? { text: n.ip, src: cdoc!.src, path: [...path, 'ip'] } : undefined,
      podCidr: n.podCIDR ? { text: n.podCIDR, src: cdoc!.src, path: [...path, 'podCIDR'] } : undefined,
      mac: n.mac ? normalizeMac(n.mac)! : undefined,
      mtu: n.mtu ?? DEFAULT_MTU,
      src: cdoc!.src,
      path,
    });
  });
  for (const no of all('Node')) {
    const addrs = no.value.status?.addresses ?? [];
    const ai = addrs.findIndex((a) => a.type === 'InternalIP');
    let ip: NodeDraft['ip'];
    if (ai >= 0) {
      const path: PathKey[] = ['status', 'addresses', ai, 'address'];
      if (parseIpv4(addrs[ai].address) === null) {
        report(no.src, path, problemText('expected an IPv4 address like 10.0.1.5', addrs[ai].address));
      } else ip = { text: addrs[ai].address, src: no.src, path };
    }
    const pc = no.value.spec?.podCIDR ?? no.value.spec?.podCIDRs?.[0];
    const podCidr: NodeDraft['podCidr'] = pc
      ? { text: pc, src: no.src, path: no.value.spec?.podCIDR ? ['spec', 'podCIDR'] : ['spec', 'podCIDRs', 0] }
      : undefined;
    const d = drafts.get(no.name);
    if (!d) {
      drafts.set(no.name, { name: no.name, ip, podCidr, mtu: DEFAULT_MTU, src: no.src, path: [] });
      continue;
    }
    // A Node object completes a Cluster node; where both say something they must agree.
    for (const [field, mine] of [['ip', ip], ['podCidr', podCidr]] as const) {
      const theirs = d[field];
      if (!mine) continue;
      if (!theirs) d[field] = mine;
      else if (theirs.text !== mine.text) {
        report(mine.src, mine.path, `expected ${theirs.text} as in ${docOf(theirs.src)} ${fieldPath(theirs.src, theirs.path)}, got "${mine.text}"`);
      }
    }
  }

  const nodes: NodeModel[] = [];
  for (const d of drafts.values()) {
    const fromSpec = d.path.length > 0;
    if (!d.ip) {
      report(d.src, fromSpec ? [...d.path, 'ip'] : ['status', 'addresses'],
        fromSpec
          ? 'missing; expected the node\'s underlay IPv4 address like 10.0.1.5 (here or as InternalIP in a Node object)'
          : 'missing; expected an address of type InternalIP like {type: InternalIP, address: 10.0.1.5}');
    }
    if (!d.podCidr) {
      report(d.src, fromSpec ? [...d.path, 'podCIDR'] : ['spec', 'podCIDR'],
        'missing; expected the node\'s pod CIDR like 10.244.1.0/24' + (fromSpec ? ' (here or as spec.podCIDR in a Node object)' : ''));
    }
    if (!d.ip || !d.podCidr) continue;
    const ip32 = parseIpv4(d.ip.text)!;
    const c = parseCidr(d.podCidr.text)!;
    const podCidr: CidrModel = { addr: c.addr, addr32: c.addr32, prefix: c.prefix };
    nodes.push({
      name: d.name,
      index: nodes.length,
      ip: formatIpv4(ip32),
      ip32,
      mac: d.mac ?? nodeNicMac(ip32),
      nicName: NODE_NIC_NAME,
      podCidr,
      mtu: d.mtu,
      vtepMac: vtepMac(ip32),
      // Flannel puts the pod CIDR's network address on flannel.1 as a /32.
      vtepIp: podCidr.addr,
      vtepIp32: podCidr.addr32,
    });
    const dup = nodes.find((n) => n !== nodes[nodes.length - 1] && n.ip32 === ip32);
    if (dup) report(d.ip.src, d.ip.path, `expected a unique node IP, got ${d.ip.text} which ${dup.name} already has`);
    const overlap = nodes.find(
      (n) => n.name !== d.name && (cidrContains(n.podCidr, podCidr.addr32) || cidrContains(podCidr, n.podCidr.addr32)),
    );
    if (overlap) {
      report(d.podCidr.src, d.podCidr.path,
        `expected a pod CIDR not overlapping ${overlap.name}'s ${formatCidr(overlap.podCidr)}, got "${d.podCidr.text}"`);
    }
  }
  if (drafts.size === 0) {
    problems.push({
      file: cdoc?.src.file ?? firstFile,
      doc: cdoc?.src.doc ?? 0,
      line: cdoc?.src.locate(['spec', 'nodes']),
      path: cdoc ? fieldPath(cdoc.src, ['spec', 'nodes']) : '',
      message: 'expected at least one node (a Cluster with spec.nodes, or Node objects)',
    });
  }

  const mode = spec?.tunnel?.mode ?? 'vxlan';
  const minMtu = nodes.length ? Math.min(...nodes.map((n) => n.mtu)) : DEFAULT_MTU;
  const tunnel: Cluster['tunnel'] = {
    mode,
    vni: spec?.tunnel?.vni ?? DEFAULT_VNI,
    port: spec?.tunnel?.port ?? DEFAULT_VXLAN_PORT,
    udpCsum: spec?.tunnel?.udpCsum ?? true,
    deviceName: spec?.tunnel?.deviceName ?? DEFAULT_VXLAN_DEVICE,
    mtu: spec?.tunnel?.mtu ?? minMtu - VXLAN_OVERHEAD,
  };
  const kubeProxy: Cluster['kubeProxy'] = {
    mode: spec?.kubeProxy?.mode ?? 'iptables',
    manages: spec?.kubeProxy?.manages ?? true,
    lbAlgorithm: spec?.kubeProxy?.lbAlgorithm ?? 'random',
    maglevTableSize: spec?.kubeProxy?.maglevTableSize ?? 16381,
  };
  const timeouts: ConntrackTimeouts = {
    ...KERNEL_CT_TIMEOUTS,
    ...(kubeProxy.manages ? KUBE_PROXY_CT_OVERRIDES : {}),
  };
  for (const [k, v] of Object.entries(spec?.conntrack?.timeouts ?? {})) {
    if (v !== undefined) timeouts[k as keyof ConntrackTimeouts] = v;
  }

  // ---- Pods
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const nodeList = [...drafts.keys()].join(', ');
  interface PodDraft { o: Of<'Pod'>; node: NodeModel; ip32: number | null }
  const podDrafts: PodDraft[] = [];
  const takenPodIps = new Map<number, string>();
  let unplaced = 0;
  // Workloads make their pods first (workloads.ts); written and made pods are then placed and addressed alike.
  const written = all('Pod');
  const expansion = expandWorkloads(WORKLOAD_KINDS.flatMap((k) => all(k)), written, nodes.map((n) => n.name));
  for (const p of expansion.problems) report(p.src, p.path, p.message);
  warnings.push(...expansion.notes);
  // A workload's pods are reported once per workload (below), with the nodes they got.
  const placedBy = new Map<Of<'Pod'>, { node: string; roundRobin: boolean }>();
  for (const o of [...written, ...expansion.pods].sort(byKey)) {
    if (o.value.spec?.hostNetwork) {
      warnings.push(`${where(o.src)}: skipped Pod "${o.namespace}/${o.name}": hostNetwork pods are the node itself in dpemu`);
      continue;
    }
    const nn = o.value.spec?.nodeName;
    const ipText = o.value.status?.podIP;
    const ipWritten = ipText === undefined ? null : parseIpv4(ipText)!;
    let node: NodeModel | undefined;
    let roundRobin = false;
    if (nn === undefined) {
      // Course Pods rarely say where they run (kube-scheduler decides). A written podIP names its node
      // (the pod CIDR holding it); otherwise the pods without a node go round robin over the nodes in
      // order, deterministically, and the warning says how to choose.
      const byIp = ipWritten === null ? undefined : nodes.find((n) => cidrContains(n.podCidr, ipWritten));
      if (drafts.size === 1) node = nodes[0];
      else if (byIp) node = byIp;
      else if (nodes.length > 0) {
        node = nodes[unplaced++ % nodes.length];
        roundRobin = true;
        if (o.owner === undefined) warnings.push(`${where(o.src)}: Pod "${o.namespace}/${o.name}" has no spec.nodeName: placed on ${node!.name} (round robin over the nodes; kube-scheduler is not modelled, set spec.nodeName to choose)`);
      }
    } else {
      node = nodeByName.get(nn);
      if (!node && !drafts.has(nn)) report(o.src, ['spec', 'nodeName'], `expected one of the nodes ${nodeList}, got "${nn}"`);
    }
    if (!node) continue;
    if (o.owner !== undefined) placedBy.set(o, { node: node.name, roundRobin });
    let ip32: number | null = null;
    if (ipWritten !== null) {
      ip32 = ipWritten;
      const path: PathKey[] = ['status', 'podIP'];
      const owner = takenPodIps.get(ip32);
      if (!cidrContains(node.podCidr, ip32)) {
        report(o.src, path, `expected an address inside ${node.name}'s pod CIDR ${formatCidr(node.podCidr)}, got "${ipText}"`);
        continue;
      } else if (ip32 === node.podCidr.addr32 || ip32 === cidrLast(node.podCidr)) {
        report(o.src, path, `expected a host address of ${formatCidr(node.podCidr)} (not the network or broadcast address), got "${ipText}"`);
        continue;
      } else if (owner) {
        report(o.src, path, `expected a unique pod IP, got "${ipText}" which pod ${owner} already has`);
        continue;
      }
      takenPodIps.set(ip32, `${o.namespace}/${o.name}`);
    }
    podDrafts.push({ o, node, ip32 });
  }
  for (const m of expansion.made) {
    const placed = m.pods.map((p) => ({ name: p.name, ...placedBy.get(p) }));
    const list = placed.map((p) => (p.node ? `${p.name} on ${p.node}` : p.name)).join(', ');
    const rr = placed.some((p) => p.roundRobin) ? ' (no spec.template.spec.nodeName: round robin over the nodes; kube-scheduler is not modelled)' : '';
    const already = m.adopted.length ? `; already in the files: ${m.adopted.join(', ')}` : '';
    warnings.push(`${m.at}: ${m.owner} made ${m.pods.length} Pod(s)${list ? `: ${list}` : ''}${rr}${already}`);
  }
  // Allocation: sorted by namespace/name (podDrafts already is), from .2 of the node's CIDR, skipping taken ones.
  for (const pd of podDrafts) {
    if (pd.ip32 !== null) continue;
    const last = cidrLast(pd.node.podCidr);
    let cand = pd.node.podCidr.addr32 + 2;
    while (cand < last && takenPodIps.has(cand)) cand++;
    if (cand >= last) {
      report(pd.o.src, ['status', 'podIP'], `missing, and ${pd.node.name}'s pod CIDR ${formatCidr(pd.node.podCidr)} has no free address left; expected an explicit podIP or a larger CIDR`);
      continue;
    }
    pd.ip32 = cand;
    takenPodIps.set(cand, `${pd.o.namespace}/${pd.o.name}`);
  }
  const pods: PodModel[] = [];
  for (const pd of podDrafts) {
    if (pd.ip32 === null) continue;
    const { o } = pd;
    const containerPorts: ContainerPortModel[] = [];
    for (const c of o.value.spec?.containers ?? []) {
      for (const p of c.ports ?? []) containerPorts.push({ name: p.name ?? '', port: p.containerPort, protocol: p.protocol ?? 'TCP' });
    }
    // As the EndpointSlice controller's podutil.IsPodReady: ready only when the Ready condition says "True"
    // ("False", "Unknown" or a misspelling is not ready). A pod written without that condition is taken as
    // running and ready, since course YAML rarely carries status.
    const readyCond = o.value.status?.conditions?.find((c) => c.type === 'Ready');
    if (readyCond && !CONDITION_STATUSES.has(readyCond.status)) {
      warnings.push(`${where(o.src)}: Pod "${o.namespace}/${o.name}" has Ready condition status "${readyCond.status}": expected True, False or Unknown; the pod is not ready (only "True" is)`);
    }
    pods.push({
      name: o.name,
      namespace: o.namespace,
      labels: { ...(o.value.metadata.labels ?? {}) },
      nodeName: pd.node.name,
      ip: formatIpv4(pd.ip32),
      ip32: pd.ip32,
      ipAllocated: o.value.status?.podIP === undefined,
      mac: podMac(pd.ip32),
      hostVeth: hostVethName(o.namespace, o.name),
      hostVethMac: HOST_VETH_MAC,
      gatewayIp: POD_GATEWAY_IP,
      gatewayIp32: parseIpv4(POD_GATEWAY_IP)!,
      ready: readyCond ? readyCond.status === 'True' : true,
      containerPorts,
      ...ownerOf(o),
    });
  }
  const podByIp = new Map(pods.map((p) => [p.ip32, p]));

  // ---- Services
  interface SvcDraft { o: Of<'Service'>; model: ServiceModel }
  const svcDrafts: SvcDraft[] = [];
  const takenVips = new Map<number, string>();
  const takenNodePorts = new Map<string, string>();
  for (const o of all('Service')) {
    const s = o.value.spec;
    const type = s.type ?? 'ClusterIP';
    if (type === 'ExternalName') {
      warnings.push(`${where(o.src)}: skipped ExternalName Service "${o.namespace}/${o.name}": it is DNS only, no data path`);
      continue;
    }
    const id = `${o.namespace}/${o.name}`;
    let bad = false;
    const ports: ServicePortModel[] = [];
    const sp = s.ports ?? [];
    if (sp.length === 0 && s.clusterIP !== 'None') {
      report(o.src, ['spec', 'ports'], 'missing; expected at least one port like {name: http, port: 80, targetPort: 8080}');
      bad = true;
    }
    const names = new Set<string>();
    const portKeys = new Set<string>();
    sp.forEach((p, i) => {
      const path: PathKey[] = ['spec', 'ports', i];
      const protocol: L4Protocol = p.protocol ?? 'TCP';
      if (sp.length > 1 && !p.name) {
        report(o.src, [...path, 'name'], 'missing; expected a name on every port when a Service has more than one port');
        bad = true;
      } else if (p.name && names.has(p.name)) {
        report(o.src, [...path, 'name'], `expected unique port names, got "${p.name}" twice`);
        bad = true;
      }
      if (p.name) names.add(p.name);
      if (portKeys.has(`${p.port}/${protocol}`)) {
        report(o.src, [...path, 'port'], `expected unique port/protocol pairs, got ${p.port}/${protocol} twice`);
        bad = true;
      }
      portKeys.add(`${p.port}/${protocol}`);
      let nodePort = 0;
      if (p.nodePort !== undefined) {
        if (type === 'ClusterIP') {
          report(o.src, [...path, 'nodePort'], `expected no nodePort on a ClusterIP Service (use type NodePort), got ${p.nodePort}`);
          bad = true;
        } else if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
          report(o.src, [...path, 'nodePort'], `expected a nodePort in ${NODE_PORT_MIN}-${NODE_PORT_MAX}, got ${p.nodePort}`);
          bad = true;
        } else {
          const k = `${p.nodePort}/${protocol}`;
          const owner = takenNodePorts.get(k);
          if (owner) {
            report(o.src, [...path, 'nodePort'], `expected a unique nodePort, got ${k} which Service ${owner} already uses`);
            bad = true;
          } else takenNodePorts.set(k, id);
          nodePort = p.nodePort;
        }
      }
      ports.push({ name: p.name ?? '', port: p.port, targetPort: p.targetPort ?? p.port, protocol, nodePort });
    });
    let vip: number | null = null;
    const headless = s.clusterIP === 'None';
    if (headless && type !== 'ClusterIP') {
      report(o.src, ['spec', 'clusterIP'], `expected a ClusterIP address for a ${type} Service, got "None"`);
      bad = true;
    }
    if (s.clusterIP && !headless) {
      vip = parseIpv4(s.clusterIP)!;
      const owner = takenVips.get(vip);
      if (!cidrContains(serviceCidr, vip)) {
        report(o.src, ['spec', 'clusterIP'], `expected an address inside the service CIDR ${formatCidr(serviceCidr)} (Cluster spec.serviceCIDR), got "${s.clusterIP}"`);
        bad = true;
      } else if (owner) {
        report(o.src, ['spec', 'clusterIP'], `expected a unique clusterIP, got "${s.clusterIP}" which Service ${owner} already has`);
        bad = true;
      } else takenVips.set(vip, id);
    }
    if (bad) continue;
    const lbIps = [
      ...(s.loadBalancerIP ? [s.loadBalancerIP] : []),
      ...(o.value.status?.loadBalancer?.ingress ?? []).flatMap((g) => (g.ip ? [g.ip] : [])),
    ];
    if (type !== 'LoadBalancer' && lbIps.length > 0) {
      warnings.push(`${where(o.src)}: Service "${id}" is ${type}; its load-balancer addresses are ignored`);
    }
    // IPv4 addresses and ranges as the apiserver validates them; IPv6 ones are another family's (dpemu is IPv4 only).
    const externalIps: string[] = [];
    (s.externalIPs ?? []).forEach((ip, i) => {
      const ip32 = parseIpv4(ip);
      if (ip32 !== null) externalIps.push(formatIpv4(ip32));
      else if (ip.includes(':')) warnings.push(`${where(o.src)}: Service "${id}" spec.externalIPs[${i}] ${ip} is IPv6: skipped (dpemu models IPv4 only)`);
      else report(o.src, ['spec', 'externalIPs', i], `expected an IPv4 address, got ${JSON.stringify(ip)}`);
    });
    const sourceRanges: string[] = [];
    (s.loadBalancerSourceRanges ?? []).forEach((text, i) => {
      const cidr = parseCidr(text.trim(), { maskHostBits: true });
      if (cidr !== null) sourceRanges.push(formatCidr(cidr));
      else if (text.includes(':')) warnings.push(`${where(o.src)}: Service "${id}" spec.loadBalancerSourceRanges[${i}] ${text} is IPv6: skipped (dpemu models IPv4 only)`);
      else report(o.src, ['spec', 'loadBalancerSourceRanges', i], `expected a CIDR such as 203.0.113.0/24, got ${JSON.stringify(text)}`);
    });
    // Modelled in kube-proxy's iptables mode only: elsewhere say so rather than show traffic the real proxy treats differently.
    if (kubeProxy.mode !== 'iptables' && externalIps.length > 0) {
      warnings.push(`${where(o.src)}: Service "${id}" spec.externalIPs (${externalIps.join(', ')}) is not modelled in ${kubeProxy.mode} mode: traffic to them is not load-balanced to the Service`);
    }
    if (kubeProxy.mode !== 'iptables' && sourceRanges.length > 0 && type === 'LoadBalancer') {
      warnings.push(`${where(o.src)}: Service "${id}" spec.loadBalancerSourceRanges (${sourceRanges.join(', ')}) is not modelled in ${kubeProxy.mode} mode: its load-balancer IPs accept every source, where the real proxy drops sources outside the ranges`);
    }
    // The apiserver: only a LoadBalancer with externalTrafficPolicy Local has one; written, it must be free.
    const needsHealthCheck = type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
    let healthCheckNodePort = 0;
    if (s.healthCheckNodePort !== undefined) {
      const k = `${s.healthCheckNodePort}/TCP`;
      if (!needsHealthCheck) {
        report(o.src, ['spec', 'healthCheckNodePort'], `expected no healthCheckNodePort: only a LoadBalancer Service with externalTrafficPolicy Local has one, got ${s.healthCheckNodePort}`);
        continue;
      } else if (s.healthCheckNodePort < NODE_PORT_MIN || s.healthCheckNodePort > NODE_PORT_MAX) {
        report(o.src, ['spec', 'healthCheckNodePort'], `expected a port in ${NODE_PORT_MIN}-${NODE_PORT_MAX}, got ${s.healthCheckNodePort}`);
        continue;
      } else if (takenNodePorts.has(k)) {
        report(o.src, ['spec', 'healthCheckNodePort'], `expected a unique node port, got ${k} which Service ${takenNodePorts.get(k)} already uses`);
        continue;
      }
      takenNodePorts.set(k, id);
      healthCheckNodePort = s.healthCheckNodePort;
    }
    svcDrafts.push({
      o,
      model: {
        name: o.name,
        namespace: o.namespace,
        type,
        clusterIp: vip === null ? null : formatIpv4(vip),
        clusterIp32: vip,
        clusterIpAllocated: false,
        ports,
        selector: s.selector ? { ...s.selector } : null,
        sessionAffinity: s.sessionAffinity ?? 'None',
        sessionAffinityTimeoutSeconds: s.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT,
        externalTrafficPolicy: s.externalTrafficPolicy ?? 'Cluster',
        internalTrafficPolicy: s.internalTrafficPolicy ?? 'Cluster',
        loadBalancerIps: type === 'LoadBalancer' ? [...new Set(lbIps)] : [],
        externalIps,
        loadBalancerSourceRanges: sourceRanges,
        // -1: allocated below with the node ports.
        healthCheckNodePort: needsHealthCheck && healthCheckNodePort === 0 ? -1 : healthCheckNodePort,
      },
    });
  }
  // ClusterIP allocation: sorted namespace/name order, from network+2 upward, skipping network+10 (kube-dns by
  // convention), the broadcast address and every address already taken. network+1 is the `kubernetes` Service's.
  const vipLast = cidrLast(serviceCidr);
  let nextVip = serviceCidr.addr32 + 2;
  for (const sd of svcDrafts) {
    if (sd.model.clusterIp32 !== null || sd.o.value.spec.clusterIP === 'None') continue;
    while (nextVip < vipLast && (takenVips.has(nextVip) || nextVip === serviceCidr.addr32 + 10)) nextVip++;
    if (nextVip >= vipLast) {
      report(sd.o.src, ['spec', 'clusterIP'], `missing, and the service CIDR ${formatCidr(serviceCidr)} is full; expected an explicit clusterIP`);
      continue;
    }
    sd.model.clusterIp32 = nextVip;
    sd.model.clusterIp = formatIpv4(nextVip);
    sd.model.clusterIpAllocated = true;
    takenVips.set(nextVip, `${sd.model.namespace}/${sd.model.name}`);
  }
  // NodePort allocation: same order, ports in written order, from 30000 upward per protocol.
  for (const sd of svcDrafts) {
    if (sd.model.type === 'ClusterIP') continue;
    const allocate = (protocol: string): number => {
      let np = NODE_PORT_MIN;
      while (np <= NODE_PORT_MAX && takenNodePorts.has(`${np}/${protocol}`)) np++;
      takenNodePorts.set(`${np}/${protocol}`, `${sd.model.namespace}/${sd.model.name}`);
      return np;
    };
    for (const p of sd.model.ports) if (p.nodePort === 0) p.nodePort = allocate(p.protocol);
    if (sd.model.healthCheckNodePort === -1) sd.model.healthCheckNodePort = allocate('TCP');
  }
  const services = svcDrafts.map((s) => s.model);

  // ---- Endpoints: EndpointSlice objects win, then Endpoints objects, then derivation from the selector.
  const svcById = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const endpointSlices: EndpointModel[] = [];
  const explicit = new Set<string>();
  const toAddress = (
    ip32: number,
    nodeName: string | undefined,
    podName: string | undefined,
    ready: boolean,
    serving = ready,
    terminating = false,
  ): EndpointAddressModel => {
    const pod = podByIp.get(ip32);
    const node = nodeName || pod?.nodeName || nodes.find((n) => cidrContains(n.podCidr, ip32))?.name || '';
    return { ip: formatIpv4(ip32), ip32, nodeName: node, podName: podName || pod?.name || '', ready, serving, terminating };
  };
  for (const o of all('EndpointSlice')) {
    const svcName = o.value.metadata.labels?.['kubernetes.io/service-name'];
    if (svcName === undefined) {
      report(o.src, ['metadata', 'labels', 'kubernetes.io/service-name'], 'missing; expected the label kubernetes.io/service-name naming the Service');
      continue;
    }
    if (o.value.addressType !== 'IPv4') {
      warnings.push(`${where(o.src)}: skipped EndpointSlice "${o.namespace}/${o.name}": dpemu models IPv4 only`);
      continue;
    }
    const svcId = `${o.namespace}/${svcName}`;
    if (!svcById.has(svcId)) {
      warnings.push(`${where(o.src)}: EndpointSlice "${o.namespace}/${o.name}" belongs to Service "${svcId}", which is not in the scenario; ignored`);
      continue;
    }
    const eps: EndpointAddressModel[] = [];
    (o.value.endpoints ?? []).forEach((e, i) => {
      // Consumers use addresses[0] only (EndpointSlice API contract).
      const ip32 = parseIpv4(e.addresses[0]);
      if (ip32 === null) {
        report(o.src, ['endpoints', i, 'addresses', 0], problemText('expected an IPv4 address like 10.244.1.5', e.addresses[0]));
        return;
      }
      const podName = e.targetRef?.kind === 'Pod' ? e.targetRef.name : undefined;
      // nil conditions as kube-proxy reads them: ready and serving true, terminating false.
      eps.push(toAddress(ip32, e.nodeName, podName, e.conditions?.ready ?? true, e.conditions?.serving ?? true, e.conditions?.terminating ?? false));
    });
    const ports: EndpointPortModel[] = (o.value.ports ?? []).flatMap((p) =>
      p.port == null ? [] : [{ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' }],
    );
    explicit.add(svcId);
    endpointSlices.push({ name: o.name, service: svcName, namespace: o.namespace, source: 'EndpointSlice', ports, endpoints: eps });
  }
  for (const o of all('Endpoints')) {
    const svcId = `${o.namespace}/${o.name}`;
    if (!svcById.has(svcId)) {
      warnings.push(`${where(o.src)}: Endpoints "${svcId}" has no Service of that name in the scenario; ignored`);
      continue;
    }
    if (explicit.has(svcId)) {
      warnings.push(`${where(o.src)}: Endpoints "${svcId}" ignored: EndpointSlices for the Service are given (kube-proxy reads slices)`);
      continue;
    }
    (o.value.subsets ?? []).forEach((sub, i) => {
      const eps = [
        ...(sub.addresses ?? []).map((a) => ({ a, ready: true })),
        ...(sub.notReadyAddresses ?? []).map((a) => ({ a, ready: false })),
      ].map(({ a, ready }) =>
        toAddress(parseIpv4(a.ip)!, a.nodeName, a.targetRef?.kind === 'Pod' ? a.targetRef.name : undefined, ready),
      );
      const ports = (sub.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' }));
      endpointSlices.push({
        name: (o.value.subsets?.length ?? 0) > 1 ? `${o.name}-${i}` : o.name,
        service: o.name,
        namespace: o.namespace,
        source: 'Endpoints',
        ports,
        endpoints: eps,
      });
    });
    explicit.add(svcId);
  }
  for (const sd of svcDrafts) {
    const svc = sd.model;
    const svcId = `${svc.namespace}/${svc.name}`;
    if (explicit.has(svcId)) {
      // kube-proxy pairs a Service port with a slice port by name and protocol only: a written slice whose port
      // is named differently (the Service's is often unnamed, "") gives that port no endpoints, which looks like a bug.
      const given = endpointSlices.filter((e) => e.namespace === svc.namespace && e.service === svc.name).flatMap((e) => e.ports);
      for (const port of svc.ports) {
        if (given.some((p) => p.name === port.name && p.protocol === port.protocol)) continue;
        const have = given.map((p) => `"${p.name}" ${p.port}/${p.protocol}`).join(', ') || 'no ports';
        warnings.push(`${where(sd.o.src)}: Service "${svcId}" port ${port.port}/${port.protocol} (name "${port.name}") matches no port of its EndpointSlices/Endpoints (${have}); kube-proxy pairs them by name and protocol, so it has no endpoints and traffic to it ${noEndpointsFate(kubeProxy.mode)}`);
      }
      continue;
    }
    const vipText = svc.clusterIp ?? 'its endpoints';
    if (!svc.selector) {
      warnings.push(`${where(sd.o.src)}: Service "${svcId}" has no selector and no EndpointSlice/Endpoints; traffic to ${vipText} ${noEndpointsFate(kubeProxy.mode)}`);
      continue;
    }
    endpointSlices.push(...deriveEndpoints(svc, pods, warnings, where(sd.o.src), kubeProxy.mode));
  }
  endpointSlices.sort((a, b) => byKey({ namespace: a.namespace, name: `${a.service}\u0000${a.name}` }, { namespace: b.namespace, name: `${b.service}\u0000${b.name}` }));

  // ---- Namespaces: declared ones, every one referenced, and "default".
  const nsLabels = new Map<string, Record<string, string>>();
  nsLabels.set('default', {});
  for (const o of all('Namespace')) nsLabels.set(o.name, { ...(o.value.metadata.labels ?? {}) });
  for (const o of objects) if (o.namespace && !nsLabels.has(o.namespace)) nsLabels.set(o.namespace, {});
  const namespaces: NamespaceModel[] = [...nsLabels.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, labels]) => ({ name, labels: { ...labels, 'kubernetes.io/metadata.name': name } }));

  // ---- Policies (validated by schema; kept as typed specs for the policy compiler)
  const networkPolicies: NetworkPolicyModel[] = all('NetworkPolicy').map((o) => {
    const s = o.value.spec;
    // As the apiserver's SetDefaults_NetworkPolicySpec: an empty or missing list is defaulted, and only a non-empty
    // `egress` adds Egress (`egress: []` has no rule, so it must not make the pod default-deny for egress).
    const policyTypes: NetworkPolicyModel['policyTypes'] = s.policyTypes?.length
      ? [...s.policyTypes]
      : s.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
    return { name: o.name, namespace: o.namespace, spec: s, policyTypes };
  });
  const ciliumNetworkPolicies: CiliumNetworkPolicyModel[] = [...all('CiliumNetworkPolicy'), ...all('CiliumClusterwideNetworkPolicy')].map((o) => ({
    name: o.name,
    namespace: o.namespace,
    specs: [...(o.value.spec ? [o.value.spec] : []), ...(o.value.specs ?? [])],
  }));

  if (problems.length > 0) return { cluster: null, problems, warnings };
  return {
    cluster: {
      name: cdoc?.value.metadata?.name ?? 'cluster',
      seed: spec?.seed ?? DEFAULT_SEED,
      serviceCidr: { addr: serviceCidr.addr, addr32: serviceCidr.addr32, prefix: serviceCidr.prefix },
      tunnel,
      kubeProxy,
      policy: { enforcement: spec?.policy?.enforcement ?? 'default', audit: spec?.policy?.audit ?? false },
      capture: spec?.capture ? resolvePath(dirname(cdoc?.src.file ?? '.'), spec.capture) : null,
      ebpf: { ...EBPF_DEFAULTS, ...definedOnly(spec?.ebpf ?? {}) },
      conntrack: { max: spec?.conntrack?.max ?? DEFAULT_CONNTRACK_MAX, timeouts },
      nodes,
      namespaces,
      pods,
      services,
      endpointSlices,
      networkPolicies,
      ciliumNetworkPolicies,
      warnings,
    },
    problems,
    warnings,
  };
}

/**
 * What becomes of traffic to a Service port without endpoints, by mode, as dpemu's stages do it: kube-proxy's
 * filter REJECT (iptables; reached only once the VIP is routed: with no route on the node, FIB_LOOKUP_FAILED
 * comes first), the virtual server without real servers (ipvs4-in), Cilium's socket LB at connect().
 */
export function noEndpointsFate(mode: KubeProxyMode): string {
  switch (mode) {
    case 'ebpf': return 'is dropped SERVICE_BACKEND_NOT_FOUND at connect() (sock4-connect), as Cilium\'s socket LB does';
    case 'ipvs': return 'is dropped SERVICE_BACKEND_NOT_FOUND at ipvs4-in (a virtual server without real servers)';
    default: return 'will be REJECTed like kube-proxy does (once routed: a node without a route to it drops it FIB_LOOKUP_FAILED first)';
  }
}

/**
 * What the EndpointSlice controller would write: selected pods in the Service's namespace, each service port's
 * targetPort resolved per pod (a name through that pod's container ports). Pods that resolve to the same port set
 * share one slice; a port a pod cannot resolve is left out for that pod, as Kubernetes does.
 */
export function deriveEndpoints(svc: ServiceModel, pods: readonly PodModel[], warnings: string[], at: string, mode: KubeProxyMode = 'iptables'): EndpointModel[] {
  const selector = svc.selector ?? {};
  const selected = pods.filter(
    (p) => p.namespace === svc.namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v),
  );
  const id = `${svc.namespace}/${svc.name}`;
  if (selected.length === 0) {
    const sel = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
    warnings.push(`${at}: Service "${id}" selector ${sel} matches no pod; traffic to ${svc.clusterIp ?? 'it'} ${noEndpointsFate(mode)}`);
    return [];
  }
  const groups = new Map<string, { ports: EndpointPortModel[]; pods: PodModel[] }>();
  const resolvedAnywhere = new Set<number>();
  for (const pod of selected) {
    const ports: EndpointPortModel[] = [];
    svc.ports.forEach((sp, i) => {
      let target: number | undefined;
      if (typeof sp.targetPort === 'number') target = sp.targetPort;
      else target = pod.containerPorts.find((cp) => cp.name === sp.targetPort && cp.protocol === sp.protocol)?.port;
      if (target === undefined) return;
      resolvedAnywhere.add(i);
      ports.push({ name: sp.name, port: target, protocol: sp.protocol });
    });
    const key = ports.map((p) => `${p.name}:${p.port}/${p.protocol}`).join(',');
    const g = groups.get(key) ?? { ports, pods: [] };
    g.pods.push(pod);
    groups.set(key, g);
  }
  svc.ports.forEach((sp, i) => {
    if (!resolvedAnywhere.has(i)) {
      warnings.push(
        `${at}: Service "${id}" port ${sp.name || sp.port}: targetPort "${String(sp.targetPort)}" is not a ${sp.protocol} container port of any selected pod; traffic to ${svc.clusterIp ?? 'it'}:${sp.port} ${noEndpointsFate(mode)}`,
      );
    }
  });
  const list = [...groups.values()].filter((g) => g.ports.length > 0);
  return list.map((g, i) => ({
    name: list.length > 1 ? `${svc.name}-derived-${i}` : `${svc.name}-derived`,
    service: svc.name,
    namespace: svc.namespace,
    source: 'derived' as const,
    ports: g.ports,
    endpoints: g.pods.map((p) => ({ ip: p.ip, ip32: p.ip32, nodeName: p.nodeName, podName: p.name, ready: p.ready, serving: p.ready, terminating: false })),
  }));
}

/** The fields of a parsed settings object that were written (zod leaves absent optionals undefined). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
