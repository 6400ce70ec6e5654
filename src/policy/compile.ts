/**
 * From the Cluster's NetworkPolicy and CiliumNetworkPolicy objects to a per-endpoint IR (ir.ts).
 *
 * Semantics (Kubernetes / Cilium):
 * - A pod is default-deny for a direction when some policy selects it for that direction (NetworkPolicy
 *   policyTypes; CiliumNetworkPolicy: a non-empty ingress/ingressDeny or egress/egressDeny section). Entries of
 *   every selecting policy are OR-ed; a deny entry wins over any allow (Cilium deny policies).
 * - An object that cannot be compiled (bad CIDR, unknown selector operator, unknown entity, bad port, bad L7
 *   regex) is reported as an error diagnostic and left out whole, as the API server or the Cilium agent would
 *   refuse it; the other objects still apply. Named ports no pod defines are warnings (the rule matches nothing).
 */
import type { Cluster, PodModel } from '../scenario/model.js';
import type { Ipv4Cidr } from '../scenario/ipv4.js';
import { parseCidr, cidrContains } from '../scenario/ipv4.js';
import type { PolicyDiagnostic, PolicyErrorCode } from './errors.js';
import { PolicyError, formatDiagnostic } from './errors.js';
import type { Direction, EndpointPolicy, EntityName, HttpRule, Peer, PolicyEntry, PolicyProto, PortMatch } from './ir.js';
import { podKey } from './ir.js';
import type { LabelContext, Selector } from './selectors.js';
import { CILIUM_NAMESPACE_KEY, ciliumKey, ciliumSelectsNamespace, ciliumSelectsNamespaceLabels, ciliumSelectsReserved, matchCilium, matchCiliumReserved, matchLabelMap, podContext, selectorProblem } from './selectors.js';

export type EnforcementMode = 'default' | 'always' | 'never';

export interface CompileOptions {
  /** Cilium's policy-enforcement-mode. */
  enforcement?: EnforcementMode;
}

export interface CompiledPolicy {
  endpoints: Map<string, EndpointPolicy>;
  diagnostics: PolicyDiagnostic[];
  /** Every CIDR prefix the applied policies name (for CIDR identities). */
  cidrs: Ipv4Cidr[];
  enforcement: EnforcementMode;
}

/** Cilium's entity names (pkg/policy/api/entity.go) and what they select in dpemu. */
export const CILIUM_ENTITIES = [
  'all', 'world', 'world-ipv4', 'world-ipv6', 'cluster', 'host', 'remote-node', 'kube-apiserver', 'ingress', 'health', 'init', 'unmanaged', 'none',
] as const;

/** Cilium rule fields dpemu reads the rule without, and what that changes (a warning each, naming the field). */
const RULE_EXTRAS: ReadonlyArray<[string, string]> = [
  ['icmps', 'the rule is read without it: with a peer it allows that peer everything, without one nothing (Cilium allows only the listed ICMP types)'],
  ['authentication', 'the rule allows without mutual authentication'],
];
const PORT_EXTRAS: ReadonlyArray<[string, string]> = [
  ['serverNames', 'the port is allowed for every TLS server name (Cilium allows only the listed SNIs)'],
  ['terminatingTLS', 'ignored (no TLS interception)'],
  ['originatingTLS', 'ignored (no TLS origination)'],
  ['listener', 'ignored (no Envoy listener redirect)'],
];

interface RawPort {
  proto: PolicyProto | 'ANY';
  port: number | string;
  endPort: number;
  field: string;
}

interface RuleTemplate {
  dir: Direction;
  deny: boolean;
  peers: Peer[];
  /** null: every port. [] after resolution: nothing. */
  ports: RawPort[] | null;
  http: HttpRule[] | null;
  source: string;
}

interface PolicyTemplate {
  object: string;
  policy: string;
  selects: (ctx: LabelContext) => boolean;
  ingress: boolean;
  egress: boolean;
  rules: RuleTemplate[];
}

class Collector {
  readonly diags: PolicyDiagnostic[] = [];
  errors = 0;
  constructor(readonly object: string) {}
  error(code: PolicyErrorCode, field: string, message: string): void {
    this.diags.push({ severity: 'error', code, object: this.object, field, message });
    this.errors++;
  }
  warn(code: PolicyErrorCode, field: string, message: string): void {
    this.diags.push({ severity: 'warning', code, object: this.object, field, message });
  }
}

function cidrOf(c: Collector, text: unknown, field: string, cidrs: Ipv4Cidr[]): Ipv4Cidr | null {
  const parsed = typeof text === 'string' ? parseCidr(text) : null;
  if (!parsed) {
    c.error('POLICY_BAD_CIDR', field, `expected an IPv4 CIDR like 10.0.0.0/8 (network address, no host bits set), got ${JSON.stringify(text)}`);
    return null;
  }
  cidrs.push(parsed);
  return parsed;
}

function cidrPeer(c: Collector, cidrText: unknown, exceptTexts: unknown, field: string, cidrs: Ipv4Cidr[]): Peer | null {
  const outer = cidrOf(c, cidrText, `${field}.cidr`, cidrs);
  const except: Ipv4Cidr[] = [];
  const list = Array.isArray(exceptTexts) ? exceptTexts : [];
  list.forEach((t, i) => {
    const e = cidrOf(c, t, `${field}.except[${i}]`, cidrs);
    if (e && outer && !(e.prefix > outer.prefix && cidrContains(outer, e.addr32))) {
      c.error('POLICY_BAD_CIDR', `${field}.except[${i}]`, `expected a CIDR strictly inside ${outer.addr}/${outer.prefix}, got "${String(t)}"`);
    } else if (e) except.push(e);
  });
  return outer ? { kind: 'cidr', cidr: outer, except } : null;
}

function checkSelector(c: Collector, sel: unknown, field: string): Selector | null {
  if (typeof sel !== 'object' || sel === null) {
    c.error('POLICY_BAD_SELECTOR', field, 'expected a label selector with matchLabels and/or matchExpressions ({} selects everything)');
    return null;
  }
  const s = sel as Selector;
  const p = selectorProblem(s);
  if (p) {
    c.error('POLICY_BAD_SELECTOR', `${field}.${p.field}`, p.message);
    return null;
  }
  return s;
}

/**
 * A namespaced policy's endpointSelector applies in the policy's namespace: Cilium's ParseToCiliumRule sets the
 * matchLabels key `k8s:io.kubernetes.pod.namespace` to it, replacing any value written there (with a warning
 * log). Another spelling naming another namespace (no `k8s:` source, `any:`, an expression) stays beside the
 * added match, so the selector selects no pods: warned too, since it is surely not what the author meant.
 */
function ownNamespace(c: Collector, sel: Selector, namespace: string, field: string): Selector {
  const K8S_KEY = `k8s:${CILIUM_NAMESPACE_KEY}`;
  const ml = sel.matchLabels ?? {};
  let out = sel;
  if (Object.hasOwn(ml, K8S_KEY)) {
    if (ml[K8S_KEY] !== namespace) {
      c.warn('POLICY_NAMESPACE', `${field}.matchLabels.${K8S_KEY}`, `names namespace ${JSON.stringify(ml[K8S_KEY])}, but a namespaced policy's endpointSelector always applies in its own namespace: Cilium replaces it with ${JSON.stringify(namespace)} (to select pods of ${JSON.stringify(ml[K8S_KEY])}, create the policy there)`);
    }
    const { [K8S_KEY]: _replaced, ...rest } = ml;
    out = { ...sel, matchLabels: rest };
  }
  for (const [k, v] of Object.entries(out.matchLabels ?? {})) {
    if (ciliumKey(k) === CILIUM_NAMESPACE_KEY && v !== namespace) {
      c.warn('POLICY_NAMESPACE', `${field}.matchLabels.${k}`, `names namespace ${JSON.stringify(v)}, but Cilium adds ${CILIUM_NAMESPACE_KEY}=${namespace} to a namespaced policy's endpointSelector: this spec selects no pods (to select pods of ${JSON.stringify(v)}, create the policy there)`);
    }
  }
  (out.matchExpressions ?? []).forEach((e, i) => {
    if (ciliumKey(e.key) === CILIUM_NAMESPACE_KEY && e.operator === 'In' && !(e.values ?? []).includes(namespace)) {
      c.warn('POLICY_NAMESPACE', `${field}.matchExpressions[${i}]`, `allows only namespaces ${(e.values ?? []).join(', ')}, but Cilium adds ${CILIUM_NAMESPACE_KEY}=${namespace} to a namespaced policy's endpointSelector: this spec selects no pods`);
    }
  });
  return out;
}

function describe(sel: Selector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) parts.push(`${e.key} ${e.operator}${e.values ? ` (${e.values.join(',')})` : ''}`);
  return parts.length ? parts.join(',') : 'all';
}

function portField(c: Collector, raw: Record<string, unknown>, field: string, defProto: PolicyProto | 'ANY', cilium: boolean): RawPort | null {
  const protoText = raw.protocol ?? defProto;
  const allowed = cilium ? ['TCP', 'UDP', 'SCTP', 'ICMP', 'ANY'] : ['TCP', 'UDP', 'SCTP'];
  if (cilium && protoText === 'ICMPV6') {
    // Valid Cilium, but an IPv6 protocol: dpemu's data path is IPv4, so the rule could never mean what it says.
    c.error('POLICY_BAD_PORT', `${field}.protocol`, 'ICMPV6 is IPv6 traffic, which dpemu does not model (its data path is IPv4); use ICMP for ICMPv4');
    return null;
  }
  if (typeof protoText !== 'string' || !allowed.includes(protoText)) {
    c.error('POLICY_BAD_PORT', `${field}.protocol`, `expected ${allowed.join(', ')}, got ${JSON.stringify(protoText)}`);
    return null;
  }
  const proto = protoText as PolicyProto | 'ANY';
  let port: number | string = 0;
  const p = raw.port;
  if (p === undefined) port = 0;
  else if (typeof p === 'number' || (typeof p === 'string' && /^\d{1,5}$/.test(p))) {
    port = Number(p);
    if (!Number.isInteger(port) || port < 0 || port > 65535 || (!cilium && port === 0)) {
      c.error('POLICY_BAD_PORT', `${field}.port`, `expected a port number ${cilium ? 0 : 1}-65535 or a port name, got ${JSON.stringify(p)}`);
      return null;
    }
  } else if (typeof p === 'string' && /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(p)) port = p;
  else {
    c.error('POLICY_BAD_PORT', `${field}.port`, `expected a port number or an IANA port name like "http", got ${JSON.stringify(p)}`);
    return null;
  }
  let endPort = 0;
  if (raw.endPort !== undefined) {
    const e = raw.endPort;
    if (typeof port !== 'number' || port === 0 || typeof e !== 'number' || !Number.isInteger(e) || e < port || e > 65535) {
      c.error('POLICY_BAD_PORT', `${field}.endPort`, `expected endPort >= port (a number, 1-65535) together with a numeric port, got ${JSON.stringify(e)}`);
      return null;
    }
    endPort = e === port ? 0 : e;
  }
  return { proto, port, endPort, field };
}

function compileHttp(c: Collector, rules: unknown, field: string): HttpRule[] | null {
  if (rules === undefined || rules === null) return null;
  if (typeof rules !== 'object') {
    c.error('POLICY_BAD_L7', field, 'expected rules with an http list');
    return null;
  }
  const r = rules as Record<string, unknown>;
  const others = Object.keys(r).filter((k) => k !== 'http');
  if (others.length) c.warn('POLICY_UNSUPPORTED', `${field}.${others[0]}`, `L7 ${others.join(', ')} rules are not modeled: the port is allowed without a proxy`);
  if (r.http === undefined) return null;
  if (!Array.isArray(r.http)) {
    c.error('POLICY_BAD_L7', `${field}.http`, 'expected a list of HTTP rules ({method, path, host, headers})');
    return null;
  }
  const out: HttpRule[] = [];
  r.http.forEach((h: unknown, i: number) => {
    const f = `${field}.http[${i}]`;
    const o = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
    const rx = (k: string): RegExp | undefined => {
      const v = o[k];
      if (v === undefined) return undefined;
      try {
        if (typeof v !== 'string') throw new Error('not a string');
        return new RegExp(`^(?:${v})$`); // Envoy's safe_regex matches the whole value
      } catch {
        c.error('POLICY_BAD_L7', `${f}.${k}`, `expected a regular expression (RE2 syntax), got ${JSON.stringify(v)}`);
        return undefined;
      }
    };
    const headers: HttpRule['headers'] = [];
    if (o.headers !== undefined) {
      if (!Array.isArray(o.headers)) c.error('POLICY_BAD_L7', `${f}.headers`, 'expected a list of "Name" or "Name: value" strings');
      else
        for (const t of o.headers) {
          const s = String(t);
          const colon = s.indexOf(':');
          headers.push(colon < 0 ? { name: s.trim().toLowerCase() } : { name: s.slice(0, colon).trim().toLowerCase(), value: s.slice(colon + 1).trim() });
        }
    }
    if (o.headerMatches !== undefined) c.warn('POLICY_UNSUPPORTED', `${f}.headerMatches`, 'headerMatches are not modeled (ignored)');
    out.push({ method: rx('method'), path: rx('path'), host: rx('host'), headers, text: JSON.stringify(h) });
  });
  return out;
}

// ---------------------------------------------------------------- NetworkPolicy

function compileNetworkPolicy(cluster: Cluster, np: Cluster['networkPolicies'][number], cidrs: Ipv4Cidr[]): { t: PolicyTemplate | null; diags: PolicyDiagnostic[] } {
  const object = `NetworkPolicy ${np.namespace}/${np.name}`;
  const c = new Collector(object);
  const spec = np.spec;
  const podSel = checkSelector(c, spec.podSelector, 'spec.podSelector');
  const rules: RuleTemplate[] = [];
  const dirs: Array<[Direction, 'ingress' | 'egress', 'from' | 'to']> = [
    ['ingress', 'ingress', 'from'],
    ['egress', 'egress', 'to'],
  ];
  for (const [dir, key, peerKey] of dirs) {
    const list = (spec[key] ?? []) as Array<Record<string, unknown>>;
    list.forEach((rule, i) => {
      const field = `spec.${key}[${i}]`;
      const rawPeers = rule[peerKey] as Array<Record<string, unknown>> | undefined;
      const peers: Peer[] = [];
      if (!rawPeers || rawPeers.length === 0) peers.push({ kind: 'any' });
      else
        rawPeers.forEach((p, j) => {
          const pf = `${field}.${peerKey}[${j}]`;
          if (p.ipBlock !== undefined) {
            const b = p.ipBlock as Record<string, unknown>;
            const peer = cidrPeer(c, b.cidr, b.except, `${pf}.ipBlock`, cidrs);
            if (peer) peers.push(peer);
            return;
          }
          const ps = p.podSelector !== undefined ? checkSelector(c, p.podSelector, `${pf}.podSelector`) : undefined;
          const ns = p.namespaceSelector !== undefined ? checkSelector(c, p.namespaceSelector, `${pf}.namespaceSelector`) : undefined;
          if (ps === null || ns === null) return;
          if (ps === undefined && ns === undefined) {
            c.error('POLICY_BAD_SELECTOR', pf, 'expected a peer with podSelector, namespaceSelector or ipBlock');
            return;
          }
          const text = `${ns ? `ns:${describe(ns)}` : `ns=${np.namespace}`} pods:${ps ? describe(ps) : 'all'}`;
          peers.push({
            kind: 'endpoints',
            text,
            match: (ctx) =>
              (ns ? matchLabelMap(ns, ctx.nsLabels) : ctx.namespace === np.namespace) && (ps ? matchLabelMap(ps, ctx.labels) : true),
          });
        });
      const rawPorts = rule.ports as Array<Record<string, unknown>> | undefined;
      let ports: RawPort[] | null = null;
      if (rawPorts && rawPorts.length) {
        ports = [];
        rawPorts.forEach((p, j) => {
          const r = portField(c, p, `${field}.ports[${j}]`, 'TCP', false);
          if (r) ports!.push(r);
        });
      }
      rules.push({ dir, deny: false, peers, ports, http: null, source: `${object} ${field}` });
    });
  }
  if (c.errors || !podSel) return { t: null, diags: c.diags };
  return {
    t: {
      object,
      policy: `${np.namespace}/${np.name}`,
      selects: (ctx) => ctx.namespace === np.namespace && matchLabelMap(podSel, ctx.labels),
      ingress: np.policyTypes.includes('Ingress'),
      egress: np.policyTypes.includes('Egress'),
      rules,
    },
    diags: c.diags,
  };
}

// ---------------------------------------------------------------- CiliumNetworkPolicy

/** Reserved identities an endpoint selector can name as `reserved:<entity>` (Cilium's EntitySelectorMapping). */
const RESERVED_ENTITIES: readonly EntityName[] = ['host', 'remote-node', 'world', 'health', 'init', 'unmanaged', 'kube-apiserver', 'ingress'];

function endpointPeers(c: Collector, sel: unknown, field: string, namespace: string): Peer[] {
  const s = checkSelector(c, sel, field);
  if (!s) return [];
  // Cilium adds the policy's namespace to a namespaced rule's selectors unless they name a namespace or select on
  // namespace labels themselves (getEndpointSelector). A clusterwide rule's (namespace '') gets "has a namespace"
  // instead: every pod. A selector naming a `reserved:` label gets neither and selects reserved identities as the
  // entity of that name does (`reserved:host` = fromEntities: [host]).
  const reserved = ciliumSelectsReserved(s);
  const restrict = !reserved && namespace !== '' && !ciliumSelectsNamespace(s) && !ciliumSelectsNamespaceLabels(s);
  const peers: Peer[] = [
    {
      kind: 'endpoints',
      text: `${restrict ? `ns=${namespace} ` : ''}${describe(s)}`,
      match: (ctx) => (!restrict || ctx.namespace === namespace) && matchCilium(s, ctx),
    },
  ];
  if (reserved) for (const e of RESERVED_ENTITIES) if (matchCiliumReserved(s, e)) peers.push({ kind: 'entity', entity: e });
  return peers;
}

function entityPeer(c: Collector, e: unknown, field: string): Peer | null {
  if (typeof e !== 'string' || !(CILIUM_ENTITIES as readonly string[]).includes(e)) {
    c.error('POLICY_BAD_ENTITY', field, `unknown entity ${JSON.stringify(e)}: expected one of ${CILIUM_ENTITIES.join(', ')}`);
    return null;
  }
  if (e === 'all') return { kind: 'any' };
  if (e === 'world-ipv4') return { kind: 'entity', entity: 'world' };
  if (e === 'world-ipv6') return { kind: 'entity', entity: 'none' }; // dpemu is IPv4 only
  if (e === 'kube-apiserver') c.warn('POLICY_UNSUPPORTED', field, 'entity kube-apiserver selects nothing in dpemu (the scenario has no API server address)');
  return { kind: 'entity', entity: e as EntityName };
}

function compileCnp(cluster: Cluster, cnp: Cluster['ciliumNetworkPolicies'][number], cidrs: Ipv4Cidr[]): { ts: PolicyTemplate[]; diags: PolicyDiagnostic[] } {
  const clusterwide = cnp.namespace === '';
  const object = clusterwide ? `CiliumClusterwideNetworkPolicy ${cnp.name}` : `CiliumNetworkPolicy ${cnp.namespace}/${cnp.name}`;
  const c = new Collector(object);
  const ts: PolicyTemplate[] = [];
  cnp.specs.forEach((spec, si) => {
    const base = cnp.specs.length > 1 ? `specs[${si}]` : 'spec';
    if (spec.nodeSelector !== undefined) {
      c.warn('POLICY_UNSUPPORTED', `${base}.nodeSelector`, 'host policies (nodeSelector) are not modeled; this spec is ignored');
      return;
    }
    const checked = checkSelector(c, spec.endpointSelector, `${base}.endpointSelector`);
    const epSel = checked && !clusterwide ? ownNamespace(c, checked, cnp.namespace, `${base}.endpointSelector`) : checked;
    if (spec.enableDefaultDeny !== undefined) {
      c.warn('POLICY_UNSUPPORTED', `${base}.enableDefaultDeny`, 'enableDefaultDeny is not modeled: the selected pods are default-deny in each direction this spec has rules for');
    }
    const rules: RuleTemplate[] = [];
    const sections: Array<[Direction, boolean, string]> = [
      ['ingress', false, 'ingress'],
      ['ingress', true, 'ingressDeny'],
      ['egress', false, 'egress'],
      ['egress', true, 'egressDeny'],
    ];
    let ingress = false;
    let egress = false;
    for (const [dir, deny, key] of sections) {
      const list = ((spec as Record<string, unknown>)[key] ?? []) as Array<Record<string, unknown>>;
      if (list.length) {
        if (dir === 'ingress') ingress = true;
        else egress = true;
      }
      const from = dir === 'ingress' ? 'from' : 'to';
      list.forEach((rule, i) => {
        const field = `${base}.${key}[${i}]`;
        const peers: Peer[] = [];
        let l3 = false;
        for (const k of ['Requires', 'FQDNs', 'Services', 'Nodes', 'Groups']) {
          if (rule[`${from}${k}`] !== undefined) c.warn('POLICY_UNSUPPORTED', `${field}.${from}${k}`, `${from}${k} is not modeled (ignored)`);
        }
        for (const [k, effect] of RULE_EXTRAS) if (rule[k] !== undefined) c.warn('POLICY_UNSUPPORTED', `${field}.${k}`, `${k} is not modeled: ${effect}`);
        const eps = rule[`${from}Endpoints`] as unknown[] | undefined;
        if (eps) {
          l3 = true;
          eps.forEach((s, j) => {
            peers.push(...endpointPeers(c, s, `${field}.${from}Endpoints[${j}]`, cnp.namespace));
          });
        }
        const plain = rule[`${from}CIDR`] as unknown[] | undefined;
        if (plain) {
          l3 = true;
          plain.forEach((t, j) => {
            const p = cidrPeer(c, t, [], `${field}.${from}CIDR[${j}]`, cidrs);
            if (p) peers.push(p);
          });
        }
        const sets = rule[`${from}CIDRSet`] as Array<Record<string, unknown>> | undefined;
        if (sets) {
          l3 = true;
          sets.forEach((s, j) => {
            // CiliumCIDRGroup objects are not modeled: such an entry selects nothing (the rule's other peers stay).
            if (s.cidr === undefined) {
              const ref = s.cidrGroupRef !== undefined ? 'cidrGroupRef' : 'cidrGroupSelector';
              c.warn('POLICY_UNSUPPORTED', `${field}.${from}CIDRSet[${j}].${ref}`, `${ref} is not modeled (no CiliumCIDRGroup objects): this entry selects no address`);
              return;
            }
            const p = cidrPeer(c, s.cidr, s.except, `${field}.${from}CIDRSet[${j}]`, cidrs);
            if (p) peers.push(p);
          });
        }
        const ents = rule[`${from}Entities`] as unknown[] | undefined;
        if (ents) {
          l3 = true;
          ents.forEach((e, j) => {
            const p = entityPeer(c, e, `${field}.${from}Entities[${j}]`);
            if (p) peers.push(p);
          });
        }
        const toPorts = rule.toPorts as Array<Record<string, unknown>> | undefined;
        // An L4-only rule applies to every peer; a rule with neither L3 nor L4 selects nothing (`ingress: [{}]` = default deny).
        if (!l3 && toPorts && toPorts.length) peers.push({ kind: 'any' });
        if (!toPorts || toPorts.length === 0) {
          if (peers.length) rules.push({ dir, deny, peers, ports: null, http: null, source: `${object} ${field}` });
          return;
        }
        toPorts.forEach((tp, j) => {
          const tf = `${field}.toPorts[${j}]`;
          for (const [k, effect] of PORT_EXTRAS) if (tp[k] !== undefined) c.warn('POLICY_UNSUPPORTED', `${tf}.${k}`, `${k} is not modeled: ${effect}`);
          const rawPorts = tp.ports as Array<Record<string, unknown>> | undefined;
          let ports: RawPort[] | null = null;
          if (rawPorts && rawPorts.length) {
            ports = [];
            rawPorts.forEach((p, k) => {
              const r = portField(c, p, `${tf}.ports[${k}]`, 'ANY', true);
              if (r) ports!.push(r);
            });
          }
          let http: HttpRule[] | null = null;
          if (tp.rules !== undefined) {
            if (deny) c.error('POLICY_BAD_L7', `${tf}.rules`, 'expected no L7 rules in a deny section (Cilium refuses L7 rules in ingressDeny/egressDeny)');
            else if (!ports || ports.some((p) => p.proto !== 'TCP' && p.proto !== 'ANY') || ports.some((p) => p.port === 0 || p.endPort)) {
              c.error('POLICY_BAD_L7', `${tf}.rules`, 'expected L7 rules only with single TCP ports (protocol TCP or ANY, a port, no endPort)');
            } else {
              http = compileHttp(c, tp.rules, `${tf}.rules`);
              if (http) ports = ports.map((p) => ({ ...p, proto: 'TCP' }));
            }
          }
          if (peers.length) rules.push({ dir, deny, peers, ports, http, source: `${object} ${tf}` });
        });
      });
    }
    if (!epSel) return;
    ts.push({
      object,
      policy: clusterwide ? cnp.name : `${cnp.namespace}/${cnp.name}`,
      // A namespaced rule's endpointSelector always gets the policy's namespace; a clusterwide one's selects in every namespace.
      selects: (ctx) => (clusterwide || ctx.namespace === cnp.namespace) && matchCilium(epSel, ctx),
      ingress,
      egress,
      rules,
    });
  });
  if (c.errors) return { ts: [], diags: c.diags };
  return { ts, diags: c.diags };
}

// ---------------------------------------------------------------- per endpoint

function resolveNamed(pod: PodModel, name: string, proto: PolicyProto | 'ANY'): PortMatch[] {
  return pod.containerPorts
    .filter((cp) => cp.name === name && (proto === 'ANY' || cp.protocol === proto))
    .map((cp) => ({ proto: cp.protocol, port: cp.port, endPort: 0 }));
}

function instantiate(t: RuleTemplate, pod: PodModel, policy: string): PolicyEntry | null {
  let ports: PortMatch[] = [];
  if (t.ports !== null) {
    for (const p of t.ports) {
      if (typeof p.port === 'number') ports.push({ proto: p.proto, port: p.port, endPort: p.endPort });
      else if (t.dir === 'ingress') ports.push(...resolveNamed(pod, p.port, p.proto));
      else ports.push({ proto: p.proto, port: 0, endPort: 0, name: p.port });
    }
    if (ports.length === 0) return null; // every port was a name this pod does not define: matches nothing
  } else ports = [];
  return { deny: t.deny, peers: t.peers, ports, http: t.http, source: t.source, policy };
}

/** Compiles every policy in the cluster. Never throws for bad policies: they come back as diagnostics. */
export function compilePolicies(cluster: Cluster, opts: CompileOptions = {}): CompiledPolicy {
  const enforcement = opts.enforcement ?? 'default';
  const diagnostics: PolicyDiagnostic[] = [];
  const templates: PolicyTemplate[] = [];
  const cidrs: Ipv4Cidr[] = [];
  for (const np of cluster.networkPolicies) {
    const local: Ipv4Cidr[] = [];
    const r = compileNetworkPolicy(cluster, np, local);
    diagnostics.push(...r.diags);
    if (r.t) {
      templates.push(r.t);
      cidrs.push(...local);
    }
  }
  for (const cnp of cluster.ciliumNetworkPolicies) {
    const local: Ipv4Cidr[] = [];
    const r = compileCnp(cluster, cnp, local);
    diagnostics.push(...r.diags);
    if (r.ts.length) cidrs.push(...local);
    templates.push(...r.ts);
  }
  // Named ports nobody defines: a warning naming the field (the rule still compiles and matches nothing).
  for (const t of templates) {
    for (const r of t.rules) {
      for (const p of r.ports ?? []) {
        if (typeof p.port !== 'string') continue;
        const name = p.port;
        if (!cluster.pods.some((pod) => pod.containerPorts.some((cp) => cp.name === name))) {
          diagnostics.push({
            severity: 'warning',
            code: 'POLICY_NAMED_PORT_UNDEFINED',
            object: t.object,
            field: `${p.field}.port`,
            message: `named port "${name}" is not defined by any pod's containerPorts: the rule matches nothing (expected a containerPorts[].name)`,
          });
        }
      }
    }
  }
  const endpoints = new Map<string, EndpointPolicy>();
  for (const pod of cluster.pods) {
    const ctx = podContext(cluster.namespaces, pod);
    const ep: EndpointPolicy = {
      pod,
      key: podKey(pod),
      ctx,
      ingress: { enforced: enforcement === 'always', entries: [] },
      egress: { enforced: enforcement === 'always', entries: [] },
      selectedBy: [],
    };
    if (enforcement !== 'never') {
      for (const t of templates) {
        if (!t.selects(ctx)) continue;
        ep.selectedBy.push(t.object);
        if (t.ingress) ep.ingress.enforced = true;
        if (t.egress) ep.egress.enforced = true;
        for (const r of t.rules) {
          if ((r.dir === 'ingress' && !t.ingress) || (r.dir === 'egress' && !t.egress)) continue; // NetworkPolicy policyTypes
          const e = instantiate(r, pod, t.policy);
          if (e) ep[r.dir].entries.push(e);
        }
      }
    }
    endpoints.set(ep.key, ep);
  }
  return { endpoints, diagnostics, cidrs, enforcement };
}

/** compilePolicies, throwing a PolicyError listing every error diagnostic (warnings do not throw). */
export function compilePoliciesOrThrow(cluster: Cluster, opts: CompileOptions = {}): CompiledPolicy {
  const r = compilePolicies(cluster, opts);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new PolicyError(errors[0].code, errors.map(formatDiagnostic).join('\n'), errors);
  return r;
}

export { CILIUM_NAMESPACE_KEY };
