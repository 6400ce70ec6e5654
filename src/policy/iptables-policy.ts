/**
 * iptables model: the same IR rendered as Calico-style filter chains and evaluated rule by rule with the
 * kube-proxy walker (src/kubeproxy/walk.ts), so the cost per packet grows with the rule count.
 *
 * Layout (a simplified but faithful form of Calico's, documented in docs/policy.md):
 *   cali-tw-<hostVeth>  to-workload (ingress)   cali-fw-<hostVeth>  from-workload (egress)
 *     -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 *     -m conntrack --ctstate INVALID -j DROP
 *     -j MARK --set-xmark 0x0/0x50000                     clear the accept and proxy bits
 *     -j cali-di-<h> ...   deny chains first (DROP)       -> deny wins whatever the policy order
 *     -j cali-pi-<h> ...   allow chains (ingress; cali-po- for egress): set 0x10000 accept or 0x40000 proxy
 *     -m mark --mark 0x40000/0x40000 -j ACCEPT            redirect to the L7 proxy
 *     -m mark --mark 0x10000/0x10000 -j ACCEPT
 *     -j DROP                                             "Drop if no policies passed packet"
 * Selectors are expanded to one `-s`/`-d` rule per pod address (Calico would use an ipset; expansion keeps the
 * linear cost visible). CIDR and world peers jump to a sub-chain that RETURNs for the `except` blocks and for
 * every cluster address inside the block (pods and nodes are never CIDR peers, as in Cilium), then acts.
 */
import { createHash } from 'node:crypto';
import type { Cluster, PodModel } from '../scenario/model.js';
import type { Ipv4Cidr } from '../scenario/ipv4.js';
import { cidrContains, formatIpv4 } from '../scenario/ipv4.js';
import type { Chain, CidrMatch, Match, Rule, RuleProtocol, RuleSet, Target } from '../kubeproxy/rule.js';
import { CT_ESTABLISHED, CT_INVALID, CT_RELATED } from '../kubeproxy/rule.js';
import type { KpPacket, WalkContext, WalkResult } from '../kubeproxy/walk.js';
import { newWalkResult, walkChain } from '../kubeproxy/walk.js';
import { RecentTable } from '../kubeproxy/recent.js';
import { Prng } from '../util/prng.js';
import type { Direction, EndpointPolicy, Peer, PolicyEntry, PortMatch } from './ir.js';
import { L4_PROTOS } from './ir.js';

export const MARK_ACCEPT = 0x10000;
export const MARK_PROXY = 0x40000;
const MARK_BITS = MARK_ACCEPT | MARK_PROXY;

export function workloadChain(pod: PodModel, dir: Direction): string {
  return `${dir === 'ingress' ? 'cali-tw-' : 'cali-fw-'}${pod.hostVeth}`;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

function host(ip32: number): CidrMatch {
  return { addr: formatIpv4(ip32), addr32: ip32 >>> 0, prefix: 32, negate: false };
}

function block(c: Ipv4Cidr): CidrMatch {
  return { addr: c.addr, addr32: c.addr32, prefix: c.prefix, negate: false };
}

interface Builder {
  chains: Map<string, Chain>;
  cluster: Cluster;
}

function userChain(b: Builder, name: string, rules: Rule[]): string {
  if (!b.chains.has(name)) b.chains.set(name, { name, builtin: false, policy: null, rules: rules.map((r) => ({ ...r, chain: name })) });
  return name;
}

const rule = (chain: string, parts: Partial<Rule> & { target: Target }): Rule => ({ table: 'filter', chain, matches: [], ...parts });

/** Cluster addresses: every pod and node (what CIDR and world peers must not match). */
function clusterAddresses(c: Cluster): number[] {
  return [...c.nodes.map((n) => n.ip32), ...c.pods.map((p) => p.ip32)].sort((a, b) => a - b);
}

interface PortPart {
  protocol?: RuleProtocol;
  l4?: Match;
}

function portParts(p: PortMatch): PortPart[] {
  const protos = p.proto === 'ANY' ? L4_PROTOS : [p.proto];
  return protos.map((pr) => {
    const protocol = pr.toLowerCase() as RuleProtocol;
    if (protocol === 'icmp' || p.port === 0) return { protocol };
    const m: Match = p.endPort ? { kind: 'l4', module: protocol, dport: p.port, dportEnd: p.endPort } : { kind: 'l4', module: protocol, dport: p.port };
    return { protocol, l4: m };
  });
}

/** The address side a rule matches: -s for ingress (the peer sends), -d for egress. */
function addr(dir: Direction, m: CidrMatch): Partial<Rule> {
  return dir === 'ingress' ? { src: m } : { dst: m };
}

function entryRules(b: Builder, ep: EndpointPolicy, dir: Direction, e: PolicyEntry, chain: string): Rule[] {
  const c = b.cluster;
  const action: Target = e.deny ? { kind: 'DROP' } : { kind: 'MARK', args: e.http ? { value: MARK_PROXY, mask: MARK_PROXY } : { value: MARK_ACCEPT, mask: MARK_ACCEPT } };
  const comment: Match = { kind: 'comment', comment: e.source };
  const out: Rule[] = [];
  /** The port parts of this entry for one destination pod (egress named ports resolve per pod). */
  const partsFor = (dest: PodModel | null | 'all'): PortPart[] | null => {
    if (e.ports.length === 0) return null;
    const parts: PortPart[] = [];
    for (const p of e.ports) {
      if (p.name === undefined) parts.push(...portParts(p));
      else {
        const pods = dest === 'all' ? c.pods : dest ? [dest] : [];
        const seen = new Set<string>();
        for (const pod of pods)
          for (const cp of pod.containerPorts)
            if (cp.name === p.name && (p.proto === 'ANY' || cp.protocol === p.proto) && !seen.has(`${cp.protocol}/${cp.port}`)) {
              seen.add(`${cp.protocol}/${cp.port}`);
              parts.push(...portParts({ proto: cp.protocol, port: cp.port, endPort: 0 }));
            }
      }
    }
    return parts;
  };
  const emit = (where: Partial<Rule>, dest: PodModel | null | 'all', target: Target): void => {
    const parts = partsFor(dest);
    if (parts === null) out.push(rule(chain, { ...where, matches: [comment], target }));
    else for (const pp of parts) out.push(rule(chain, { ...where, protocol: pp.protocol, matches: pp.l4 ? [pp.l4, comment] : [comment], target }));
  };
  /** A sub-chain that RETURNs for `skip` blocks/addresses, then acts on `within` (null: everything left). */
  const guarded = (within: Ipv4Cidr | null, except: Ipv4Cidr[], what: string): string => {
    const sub: Rule[] = [];
    for (const x of except) sub.push(rule('', { ...addr(dir, block(x)), target: { kind: 'RETURN' } }));
    for (const ip of clusterAddresses(c)) if (!within || cidrContains(within, ip)) sub.push(rule('', { ...addr(dir, host(ip)), target: { kind: 'RETURN' } }));
    sub.push(rule('', { ...(within && within.prefix > 0 ? addr(dir, block(within)) : {}), matches: [{ kind: 'comment', comment: what }], target: action }));
    const name = `cali-nw-${hash(JSON.stringify([dir, what, sub.map((r) => [r.src, r.dst, r.target])]))}`;
    return userChain(b, name, sub);
  };
  for (const peer of e.peers) emitPeer(peer);
  return out;

  function emitPeer(peer: Peer): void {
    switch (peer.kind) {
      case 'any':
        emit({}, 'all', action);
        return;
      case 'endpoints':
        for (const pod of c.pods.filter((p) => peer.match({ labels: p.labels, namespace: p.namespace, nsLabels: nsLabelsOf(c, p.namespace) })))
          emit(addr(dir, host(pod.ip32)), pod, action);
        return;
      case 'cidr': {
        const sub = guarded(peer.cidr, peer.except, `${peer.cidr.addr}/${peer.cidr.prefix}`);
        emit({}, null, { kind: 'jump', chain: sub });
        return;
      }
      case 'entity':
        switch (peer.entity) {
          case 'world':
            emit({}, null, { kind: 'jump', chain: guarded(null, [], 'world') });
            return;
          case 'cluster':
            for (const n of c.nodes) emit(addr(dir, host(n.ip32)), null, action);
            for (const p of c.pods) emit(addr(dir, host(p.ip32)), p, action);
            return;
          case 'host':
          case 'remote-node':
            for (const n of c.nodes) if ((n.name === ep.pod.nodeName) === (peer.entity === 'host')) emit(addr(dir, host(n.ip32)), null, action);
            return;
          default:
            return; // selects no address in dpemu
        }
    }
  }
}

function nsLabelsOf(c: Cluster, ns: string): Record<string, string> {
  return { ...(c.namespaces.find((n) => n.name === ns)?.labels ?? {}), 'kubernetes.io/metadata.name': ns };
}

function workloadRules(b: Builder, ep: EndpointPolicy, dir: Direction): Rule[] {
  const name = workloadChain(ep.pod, dir);
  const rules: Rule[] = [
    rule(name, { matches: [{ kind: 'conntrack', ctstate: CT_RELATED | CT_ESTABLISHED, negate: false }], target: { kind: 'ACCEPT' } }),
    rule(name, { matches: [{ kind: 'conntrack', ctstate: CT_INVALID, negate: false }], target: { kind: 'DROP' } }),
    rule(name, { target: { kind: 'MARK', args: { value: 0, mask: MARK_BITS } } }),
  ];
  const dp = ep[dir];
  if (!dp.enforced) {
    rules.push(rule(name, { matches: [{ kind: 'comment', comment: 'no policy selects this pod' }], target: { kind: 'ACCEPT' } }));
    return rules;
  }
  // One chain per (policy, deny/allow), in policy order; deny chains all come first.
  for (const deny of [true, false]) {
    const policies = [...new Set(dp.entries.filter((e) => e.deny === deny).map((e) => e.policy))];
    for (const pol of policies) {
      const prefix = deny ? (dir === 'ingress' ? 'cali-di-' : 'cali-do-') : dir === 'ingress' ? 'cali-pi-' : 'cali-po-';
      const body: Rule[] = [];
      for (const e of dp.entries) if (e.deny === deny && e.policy === pol) body.push(...entryRules(b, ep, dir, e, ''));
      const chainName = `${prefix}${hash(JSON.stringify([pol, body.map((r) => [r.src, r.dst, r.protocol, r.matches, r.target])]))}`;
      userChain(b, chainName, body);
      rules.push(rule(name, { matches: [{ kind: 'comment', comment: `policy ${pol}` }], target: { kind: 'jump', chain: chainName } }));
    }
  }
  rules.push(
    rule(name, { matches: [{ kind: 'mark', value: MARK_PROXY, mask: MARK_PROXY, negate: false }, { kind: 'comment', comment: 'redirect to proxy' }], target: { kind: 'ACCEPT' } }),
    rule(name, { matches: [{ kind: 'mark', value: MARK_ACCEPT, mask: MARK_ACCEPT, negate: false }], target: { kind: 'ACCEPT' } }),
    rule(name, { matches: [{ kind: 'comment', comment: 'Drop if no policies passed packet' }], target: { kind: 'DROP' } }),
  );
  return rules;
}

/** The filter table for the pods on one node (or every pod when node is null). */
export function buildPolicyRuleSet(cluster: Cluster, endpoints: Iterable<EndpointPolicy>, node: string | null): RuleSet {
  const b: Builder = { chains: new Map(), cluster };
  const workload: Chain[] = [];
  for (const ep of endpoints) {
    if (node !== null && ep.pod.nodeName !== node) continue;
    for (const dir of ['ingress', 'egress'] as const) {
      const name = workloadChain(ep.pod, dir);
      workload.push({ name, builtin: false, policy: null, rules: workloadRules(b, ep, dir) });
    }
  }
  const user = [...workload, ...b.chains.values()].sort((a, b2) => (a.name < b2.name ? -1 : a.name > b2.name ? 1 : 0));
  const builtins: Chain[] = ['INPUT', 'FORWARD', 'OUTPUT'].map((n) => ({ name: n, builtin: true, policy: 'ACCEPT', rules: [] }));
  return { node: node ?? 'all', tables: { filter: [...builtins, ...user], nat: [] } };
}

export type IptVerdictKind = 'ALLOW' | 'DENY' | 'REDIRECT';

export interface IptResult {
  verdict: IptVerdictKind;
  dropReason: 'POLICY_DENIED' | 'POLICY_DENY' | null;
  /** Rules evaluated (matched or not) is not tracked by the walker; `rulesMatched` is the trace length. */
  rulesMatched: number;
  walk: WalkResult;
}

const CTX: WalkContext = { rng: new Prng(1), recent: new RecentTable(), now: 0 };
const PKT: KpPacket = { src32: 0, dst32: 0, proto: 'tcp', sport: 0, dport: 0, mark: 0, srcIsLocal: false, dstIsLocal: false, ctstate: 0 };

/** Walks the pod's to-/from-workload chain for a new flow. `peer32` is the source (ingress) or destination (egress). */
export function iptablesVerdict(
  rs: RuleSet,
  pod: PodModel,
  dir: Direction,
  peer32: number,
  proto: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'other',
  dport: number,
  ctstate: number,
  out: IptResult,
): IptResult {
  PKT.src32 = dir === 'ingress' ? peer32 >>> 0 : pod.ip32;
  PKT.dst32 = dir === 'ingress' ? pod.ip32 : peer32 >>> 0;
  PKT.proto = proto;
  PKT.sport = 0;
  PKT.dport = dport;
  PKT.mark = 0;
  PKT.ctstate = ctstate;
  const w = walkChain(rs, 'filter', workloadChain(pod, dir), PKT, CTX, out.walk);
  out.rulesMatched = w.matchedCount;
  out.dropReason = null;
  if (w.verdict === 'ACCEPT') {
    out.verdict = w.by && w.by.matches.some((m) => m.kind === 'mark' && m.value === MARK_PROXY) ? 'REDIRECT' : 'ALLOW';
  } else {
    out.verdict = 'DENY';
    out.dropReason = w.by && w.by.chain.startsWith('cali-') && w.by.matches.some((m) => m.kind === 'comment' && m.comment === 'Drop if no policies passed packet') ? 'POLICY_DENIED' : 'POLICY_DENY';
  }
  return out;
}

export function newIptResult(): IptResult {
  return { verdict: 'ALLOW', dropReason: null, rulesMatched: 0, walk: newWalkResult() };
}
