/**
 * The policy engine a pipeline stage calls: compiles the cluster's policies, loads them in the eBPF model
 * (per-endpoint policy maps) or the iptables model (per-pod chains), decides a flow's first packet and caches
 * the decision per flow (as Cilium's conntrack entry does); replies of an allowed flow pass as established.
 *
 * Enforcement (Cilium's policy-enforcement-mode): default (a pod is default-deny in a direction once a policy
 * selects it), always (every pod, even with no policy), never (no policy at all). Audit mode
 * (policy-audit-mode): a packet the policy would drop passes with verdict AUDIT.
 */
import type { Cluster, PodModel } from '../scenario/model.js';
import { podByIp } from '../scenario/model.js';
import type { PolicyDiagnostic } from './errors.js';
import type { CompiledPolicy, EnforcementMode } from './compile.js';
import { compilePolicies } from './compile.js';
import { PolicyContext } from './context.js';
import type { BpfLookupResult } from './bpf-policy.js';
import { BpfEndpointPolicy, PolicyMapOverflow, buildBpfEndpointPolicy, peerIdentities } from './bpf-policy.js';
import type { IptResult } from './iptables-policy.js';
import { buildPolicyRuleSet, iptablesVerdict, newIptResult } from './iptables-policy.js';
import type { Direction, EndpointPolicy, HttpRule } from './ir.js';
import { flowProtoNumber, hasPorts, type FlowProto } from './ir.js';
import type { RuleSet } from '../kubeproxy/rule.js';
import { CT_NEW } from '../kubeproxy/rule.js';
import { DEFAULT_POLICY_MAP_MAX_ENTRIES } from './policy-map.js';
import { buildHttp403, matchHttp } from './l7.js';
import { renderIptablesSave } from '../kubeproxy/render-save.js';
import { explainDecision } from './explain.js';

export type PolicyMode = 'ebpf' | 'iptables';
export type Verdict = 'ALLOW' | 'DENY' | 'REDIRECT' | 'AUDIT';
export type { FlowProto } from './ir.js';

export interface PolicyEngineOptions {
  mode: PolicyMode;
  enforcement?: EnforcementMode;
  audit?: boolean;
  /** Per-endpoint policy map size (eBPF model; the same limit guards the iptables model so both agree). */
  maxEntries?: number;
}

export interface DirectionVerdict {
  verdict: Verdict;
  /** Drop reason name from src/engine/drop-reasons.ts: POLICY_DENIED ("Policy denied") or POLICY_DENY ("Policy denied by denylist"). */
  dropReason: 'POLICY_DENIED' | 'POLICY_DENY' | null;
  proxyPort: number;
}

export interface FlowVerdict {
  verdict: Verdict;
  egress: DirectionVerdict | null;
  ingress: DirectionVerdict | null;
  /** True for a packet of an already decided flow (either direction). */
  established: boolean;
  /** For a REDIRECT whose request the proxy denied: the 403 payload Envoy answers with. */
  http403: Uint8Array | null;
}

export interface Flow {
  src32: number;
  dst32: number;
  proto: FlowProto;
  sport: number;
  dport: number;
}

function combine(a: DirectionVerdict | null, b: DirectionVerdict | null): Verdict {
  const vs = [a?.verdict, b?.verdict];
  if (vs.includes('DENY')) return 'DENY';
  if (vs.includes('AUDIT')) return 'AUDIT';
  if (vs.includes('REDIRECT')) return 'REDIRECT';
  return 'ALLOW';
}

/** What an L4 rule without HTTP rules gives the proxy for its port (httpRules): every request matches. */
const HTTP_ALLOW_ALL: HttpRule = { headers: [], text: 'any request (an L4 rule without HTTP rules covers this port)' };

export class PolicyEngine {
  private cluster!: Cluster;
  private pc!: PolicyContext;
  private compiled!: CompiledPolicy;
  /** The endpoint IR in force (an overflowing endpoint keeps its previous one). */
  private effective = new Map<string, EndpointPolicy>();
  private bpf = new Map<string, BpfEndpointPolicy>();
  private rules: RuleSet | null = null;
  private readonly flows = new Map<string, FlowVerdict>();
  private readonly bpfOut: BpfLookupResult = { verdict: 'ALLOW', dropReason: null, proxyPort: 0, matchedIdentity: 0 };
  private readonly iptOut: IptResult = newIptResult();
  readonly maxEntries: number;
  diagnostics: PolicyDiagnostic[] = [];

  constructor(
    cluster: Cluster,
    readonly opts: PolicyEngineOptions,
  ) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_POLICY_MAP_MAX_ENTRIES;
    this.apply(cluster);
  }

  /** (Re)compiles and loads the cluster's policies; returns this round's diagnostics. Clears the flow cache. */
  apply(cluster: Cluster): PolicyDiagnostic[] {
    this.cluster = cluster;
    this.compiled = compilePolicies(cluster, { enforcement: this.opts.enforcement ?? 'default' });
    this.pc = new PolicyContext(cluster, this.compiled);
    const diags = [...this.compiled.diagnostics];
    const next = new Map<string, EndpointPolicy>();
    const nextBpf = new Map<string, BpfEndpointPolicy>();
    for (const [key, ep] of this.compiled.endpoints) {
      const built = buildBpfEndpointPolicy(this.pc, ep, this.maxEntries);
      if (built instanceof PolicyMapOverflow) {
        const prev = this.effective.get(key);
        const kept = prev ? { ...prev, pod: ep.pod, ctx: ep.ctx } : { ...ep, ingress: { enforced: false, entries: [] }, egress: { enforced: false, entries: [] }, selectedBy: [] };
        diags.push({
          severity: 'error',
          code: 'POLICY_MAP_OVERFLOW',
          object: `Pod ${key}`,
          field: 'policy map',
          message: `the policy selecting this endpoint (${ep.selectedBy.join(', ')}) needs ${built.needed} policy map entries, more than the map's ${built.maxEntries}: refused for this endpoint, its previous policy stays in force (expected fewer peer identities x ports, or a larger bpf-policy-map-max)`,
        });
        next.set(key, kept);
        const again = buildBpfEndpointPolicy(this.pc, kept, Number.MAX_SAFE_INTEGER);
        nextBpf.set(key, again as BpfEndpointPolicy);
      } else {
        next.set(key, ep);
        nextBpf.set(key, built);
      }
    }
    this.effective = next;
    this.bpf = nextBpf;
    this.rules = this.opts.mode === 'iptables' ? buildPolicyRuleSet(cluster, next.values(), null) : null;
    this.flows.clear();
    this.diagnostics = diags;
    return diags;
  }

  endpoint(pod: PodModel): EndpointPolicy | undefined {
    return this.effective.get(`${pod.namespace}/${pod.name}`);
  }

  bpfPolicy(pod: PodModel): BpfEndpointPolicy | undefined {
    return this.bpf.get(`${pod.namespace}/${pod.name}`);
  }

  /** The filter table (iptables-save text) of the policy chains of one node's pods. */
  renderRules(node: string): string {
    const rs = buildPolicyRuleSet(this.cluster, this.effective.values(), node);
    return renderIptablesSave(rs, { header: `# Generated by dpemu (policy, Calico-style chains) for node ${node}`, tables: ['filter'] });
  }

  /** One direction of one endpoint for a new flow, no cache: the model's raw answer (audit applied). */
  decide(pod: PodModel, dir: Direction, peer32: number, proto: FlowProto, dport: number): DirectionVerdict {
    let verdict: 'ALLOW' | 'DENY' | 'REDIRECT';
    let reason: DirectionVerdict['dropReason'];
    let proxyPort = 0;
    const port = hasPorts(proto) ? dport : 0;
    if (this.opts.mode === 'ebpf') {
      const ep = this.bpf.get(`${pod.namespace}/${pod.name}`)!;
      const id = this.pc.ipcache(pod.nodeName).lookup(peer32);
      const r = ep.lookup(id, dir === 'egress' ? 1 : 0, flowProtoNumber(proto), port, this.bpfOut);
      verdict = r.verdict;
      reason = r.dropReason;
      proxyPort = r.proxyPort;
    } else {
      const r = iptablesVerdict(this.rules!, pod, dir, peer32, proto, port, CT_NEW, this.iptOut);
      verdict = r.verdict;
      reason = r.dropReason;
      if (verdict === 'REDIRECT') proxyPort = dir === 'ingress' ? 10001 : 10002;
    }
    if (verdict === 'DENY' && this.opts.audit) return { verdict: 'AUDIT', dropReason: reason, proxyPort: 0 };
    return { verdict, dropReason: reason, proxyPort };
  }

  /** Why decide() answered what it did, one line per piece of evidence (traces only: explain.ts). */
  explain(pod: PodModel, dir: Direction, peer32: number, proto: FlowProto, dport: number): string[] {
    const key = `${pod.namespace}/${pod.name}`;
    return explainDecision({ pod, dir, peer32, proto, port: hasPorts(proto) ? dport : 0, endpoint: this.effective.get(key), pc: this.pc, rules: this.opts.mode === 'iptables' ? this.rules : null, bpf: this.bpf.get(key) });
  }

  /** HTTP rules the proxy applies for (endpoint, direction, peer, port), from the IR (shared by both models). */
  httpRules(pod: PodModel, dir: Direction, peer32: number, dport: number): HttpRule[] {
    const ep = this.effective.get(`${pod.namespace}/${pod.name}`);
    if (!ep) return [];
    const id = this.pc.ipcache(pod.nodeName).lookup(peer32);
    const out: HttpRule[] = [];
    for (const e of ep[dir].entries) {
      if (e.deny) continue;
      // One port, as L7 rules are written: Cilium merges rules per port key, and a range is another key.
      if (!e.ports.some((p) => p.port === dport && (p.endPort === 0 || p.endPort === p.port) && (p.proto === 'TCP' || p.proto === 'ANY'))) continue;
      if (!e.peers.some((p) => peerIdentities(this.pc, p).some((x) => x === 0 || x === id))) continue;
      // Cilium merges the rules of one port into one L4 filter, and a rule there without L7 rules wildcards L7 for
      // its peers: "the layer 7 portions of the latter rule will have no effect" (docs, Layer 7 policies). The
      // flow is still redirected; the proxy allows every request.
      if (!e.http) return [HTTP_ALLOW_ALL];
      out.push(...e.http);
    }
    return out;
  }

  private flowKey(f: Flow, reply: boolean): string {
    return reply ? `${f.dst32}|${f.src32}|${f.proto}|${f.dport}|${f.sport}` : `${f.src32}|${f.dst32}|${f.proto}|${f.sport}|${f.dport}`;
  }

  /**
   * A packet of a flow: the first one is decided (egress at the source pod, ingress at the destination pod) and
   * cached; later packets and replies of an allowed flow are established. `payload` (TCP) feeds the L7 proxy on a
   * REDIRECT; `nowMs` dates the 403.
   */
  packet(f: Flow, payload: Uint8Array | null = null, nowMs = 0): FlowVerdict {
    const cached = this.flows.get(this.flowKey(f, false)) ?? this.flows.get(this.flowKey(f, true));
    if (cached && cached.verdict !== 'DENY') return { ...cached, established: true, http403: null };
    const src = podByIp(this.cluster, f.src32);
    const dst = podByIp(this.cluster, f.dst32);
    const egress = src ? this.decide(src, 'egress', f.dst32, f.proto, f.dport) : null;
    const ingress = dst && egress?.verdict !== 'DENY' ? this.decide(dst, 'ingress', f.src32, f.proto, f.dport) : null;
    let verdict = combine(egress, ingress);
    let http403: Uint8Array | null = null;
    if (verdict === 'REDIRECT' && payload && f.proto === 'tcp') {
      const rules: HttpRule[] = [];
      if (egress?.verdict === 'REDIRECT' && src) rules.push(...this.httpRules(src, 'egress', f.dst32, f.dport));
      const inRules = ingress?.verdict === 'REDIRECT' && dst ? this.httpRules(dst, 'ingress', f.src32, f.dport) : null;
      const egressOk = egress?.verdict !== 'REDIRECT' || matchHttp(rules, payload) === 'allow';
      const ingressOk = inRules === null || matchHttp(inRules, payload) === 'allow';
      if (!egressOk || !ingressOk) {
        http403 = buildHttp403(nowMs);
        verdict = 'DENY';
      }
    }
    const v: FlowVerdict = { verdict, egress, ingress, established: false, http403 };
    this.flows.set(this.flowKey(f, false), v);
    return v;
  }
}
