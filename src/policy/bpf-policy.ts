/**
 * eBPF model: per-endpoint policy maps built from the IR and looked up as Cilium's __policy_can_access does
 * (bpf/lib/policy.h): an LPM lookup with the peer's identity, a second with the wildcard identity 0, then
 *   1. a deny from either lookup wins;
 *   2. otherwise the entry with the higher proxy port priority (an L7 redirect beats a plain allow);
 *   3. otherwise the longer (proto, port) prefix; 4. otherwise the identity entry;
 *   nothing found: DROP_POLICY "Policy denied".
 * Like Cilium's userspace MapState, the builder removes allow entries that a deny entry of the same identity
 * covers (the LPM would otherwise pick the more specific allow) and lets a covering redirect's proxy port
 * win over a plain allow of the same identity, so the two lookups implement "deny wins, then L7".
 */
import { ReservedIdentity } from '../identity/identities.js';
import { cidrIdentitiesSelected } from '../identity/cidr.js';
import type { Direction, EndpointPolicy, HttpRule, Peer, PolicyEntry, PortMatch } from './ir.js';
import { L4_PROTOS, PROTO_NUMBER } from './ir.js';
import type { PolicyContext } from './context.js';
import type { PolicyKey, PolicyMapReader, PolicyMapWriter, PolicyValue } from './policy-map.js';
import { InMemoryPolicyMap, LPM_FULL_PREFIX_BITS, LPM_PROTO_PREFIX_BITS, portRangePrefixes } from './policy-map.js';

/** dpemu's fixed proxy ports (Cilium allocates them from 10000-20000 per listener; fixed here for reproducibility). */
export const PROXY_PORT: Readonly<Record<Direction, number>> = { ingress: 10001, egress: 10002 };

/** Identities an entity selects. world includes every CIDR identity (they carry the reserved:world parent label). */
function entityIdentities(pc: PolicyContext, entity: string): number[] {
  switch (entity) {
    case 'world':
      return [ReservedIdentity.WORLD, ...pc.cidrIdentities.map((c) => c.identity)];
    case 'cluster':
      return [
        ReservedIdentity.HOST, ReservedIdentity.UNMANAGED, ReservedIdentity.HEALTH, ReservedIdentity.INIT, ReservedIdentity.REMOTE_NODE,
        ...pc.podIdentities.map((i) => i.identity),
      ];
    case 'host':
      return [ReservedIdentity.HOST];
    case 'remote-node':
      return [ReservedIdentity.REMOTE_NODE];
    case 'health':
      return [ReservedIdentity.HEALTH];
    case 'init':
      return [ReservedIdentity.INIT];
    case 'unmanaged':
      return [ReservedIdentity.UNMANAGED];
    default:
      return []; // kube-apiserver (no address in dpemu), ingress, none
  }
}

export function peerIdentities(pc: PolicyContext, peer: Peer): number[] {
  switch (peer.kind) {
    case 'any':
      return [0];
    case 'endpoints':
      return pc.podIdentities.filter((i) => peer.match(i.ctx)).map((i) => i.identity);
    case 'cidr':
      return cidrIdentitiesSelected(pc.cidrIdentities, peer.cidr, peer.except);
    case 'entity':
      return entityIdentities(pc, peer.entity);
  }
}

export interface KeyPart {
  proto: number;
  dport: number;
  prefixLen: number;
}

function portKeys(p: PortMatch): KeyPart[] {
  const protos = p.proto === 'ANY' ? L4_PROTOS : [p.proto];
  const out: KeyPart[] = [];
  for (const pr of protos) {
    const proto = PROTO_NUMBER[pr];
    if (p.port === 0) out.push({ proto, dport: 0, prefixLen: LPM_PROTO_PREFIX_BITS });
    else if (p.endPort === 0) out.push({ proto, dport: p.port, prefixLen: LPM_FULL_PREFIX_BITS });
    else for (const [dport, len] of portRangePrefixes(p.port, p.endPort)) out.push({ proto, dport, prefixLen: LPM_PROTO_PREFIX_BITS + len });
  }
  return out;
}

/** An egress named port, resolved against the pods of one identity (identity 0: every pod), as Cilium's named-port map. */
function namedPortKeys(pc: PolicyContext, identity: number, p: PortMatch): KeyPart[] {
  const pods = identity === 0 ? pc.cluster.pods : (pc.podIdentities.find((i) => i.identity === identity)?.pods ?? []);
  const seen = new Set<string>();
  const out: KeyPart[] = [];
  for (const pod of pods)
    for (const cp of pod.containerPorts) {
      if (cp.name !== p.name || (p.proto !== 'ANY' && cp.protocol !== p.proto)) continue;
      const k = `${cp.protocol}/${cp.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ proto: PROTO_NUMBER[cp.protocol], dport: cp.port, prefixLen: LPM_FULL_PREFIX_BITS });
    }
  return out;
}

/** The policy map key parts one port match gives for a peer identity: what the model enforces for it. */
export function portMatchParts(pc: PolicyContext, identity: number, p: PortMatch): KeyPart[] {
  return p.name !== undefined ? namedPortKeys(pc, identity, p) : portKeys(p);
}

/** Whether a key part's LPM prefix over (proto, dport) holds (proto, port), as the map lookup matches it. */
export function keyPartCovers(kp: KeyPart, proto: number, port: number): boolean {
  if (kp.prefixLen === 0) return true;
  if (kp.proto !== proto) return false;
  const bits = kp.prefixLen - LPM_PROTO_PREFIX_BITS;
  const mask = bits <= 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  return (kp.dport & mask) === (port & mask);
}

interface Pending {
  key: PolicyKey;
  value: PolicyValue;
  http: HttpRule[];
}

function keyString(k: PolicyKey): string {
  return `${k.identity}/${k.egress}/${k.proto}/${k.dport}/${k.prefixLen}`;
}

/** Does key a (same identity) cover key b: a's (proto, port) prefix holds b's? */
function covers(a: PolicyKey, b: PolicyKey): boolean {
  if (a.prefixLen > b.prefixLen) return false;
  const mask = a.prefixLen === 0 ? 0 : (0xffffff << (LPM_FULL_PREFIX_BITS - a.prefixLen)) & 0xffffff;
  return ((((a.proto << 16) | a.dport) & mask) >>> 0) === ((((b.proto << 16) | b.dport) & mask) >>> 0);
}

/** The map entries (and the proxy's HTTP rules per entry) for one endpoint, before any size check. */
export function computeEntries(pc: PolicyContext, ep: EndpointPolicy): Pending[] {
  const byKey = new Map<string, Pending>();
  const add = (identity: number, egress: 0 | 1, kp: KeyPart, e: PolicyEntry): void => {
    const key: PolicyKey = { identity, egress, proto: kp.proto, dport: kp.dport, prefixLen: kp.prefixLen };
    const ks = keyString(key);
    const redirect = !e.deny && e.http !== null;
    const value: PolicyValue = {
      deny: e.deny,
      proxyPort: redirect ? PROXY_PORT[egress ? 'egress' : 'ingress'] : 0,
      proxyPortPriority: redirect ? 1 : 0,
      prefixLen: kp.prefixLen,
    };
    const old = byKey.get(ks);
    if (!old) byKey.set(ks, { key, value, http: redirect ? [...e.http!] : [] });
    else if (old.value.deny) return;
    else if (value.deny) byKey.set(ks, { key, value, http: [] });
    else {
      if (redirect) {
        old.value = value;
        old.http.push(...e.http!);
      }
    }
  };
  for (const dir of ['ingress', 'egress'] as const) {
    const dp = ep[dir];
    if (!dp.enforced) continue;
    const egress = dir === 'egress' ? 1 : 0;
    for (const e of dp.entries) {
      for (const peer of e.peers) {
        for (const id of peerIdentities(pc, peer)) {
          if (e.ports.length === 0) add(id, egress, { proto: 0, dport: 0, prefixLen: 0 }, e);
          for (const p of e.ports) for (const kp of p.name !== undefined ? namedPortKeys(pc, id, p) : portKeys(p)) add(id, egress, kp, e);
        }
      }
    }
  }
  // MapState-style resolution within one identity: covered allows go, covered plain allows take the redirect.
  const byIdentity = new Map<string, Pending[]>();
  for (const p of byKey.values()) {
    const k = `${p.key.identity}/${p.key.egress}`;
    let l = byIdentity.get(k);
    if (!l) byIdentity.set(k, (l = []));
    l.push(p);
  }
  const out: Pending[] = [];
  for (const list of byIdentity.values()) {
    const denies = list.filter((p) => p.value.deny);
    const redirects = list.filter((p) => !p.value.deny && p.value.proxyPort !== 0);
    for (const p of list) {
      if (!p.value.deny && denies.some((d) => covers(d.key, p.key))) continue;
      if (!p.value.deny && p.value.proxyPort === 0) {
        const r = redirects.find((x) => covers(x.key, p.key));
        if (r) p.value = { ...r.value, prefixLen: p.key.prefixLen };
      }
      out.push(p);
    }
  }
  return out;
}

export type BpfVerdictKind = 'ALLOW' | 'DENY' | 'REDIRECT';

/** Reused per call: lookups allocate nothing. */
export interface BpfLookupResult {
  verdict: BpfVerdictKind;
  /** 'POLICY_DENIED' (no entry, "Policy denied") or 'POLICY_DENY' (a deny entry, "Policy denied by denylist"). */
  dropReason: 'POLICY_DENIED' | 'POLICY_DENY' | null;
  proxyPort: number;
  /** Which lookup decided: the peer identity or the wildcard 0. */
  matchedIdentity: number;
}

/** One endpoint's loaded policy: its map and the proxy's HTTP rules per map entry. */
export class BpfEndpointPolicy {
  private readonly http = new Map<string, HttpRule[]>();
  constructor(
    readonly map: PolicyMapReader,
    readonly ingressEnforced: boolean,
    readonly egressEnforced: boolean,
    http: Iterable<[string, HttpRule[]]>,
  ) {
    for (const [k, v] of http) this.http.set(k, v);
  }

  /** __policy_can_access. */
  lookup(remoteIdentity: number, egress: 0 | 1, proto: number, dport: number, out: BpfLookupResult): BpfLookupResult {
    out.proxyPort = 0;
    out.dropReason = null;
    if (!(egress ? this.egressEnforced : this.ingressEnforced)) {
      out.verdict = 'ALLOW';
      out.matchedIdentity = -1;
      return out;
    }
    const policy = this.map.lookup(remoteIdentity, egress, proto, dport);
    let chosen: PolicyValue | undefined;
    if (policy && policy.deny) chosen = policy;
    else {
      const l4 = this.map.lookup(0, egress, proto, dport);
      if (
        l4 &&
        (l4.deny ||
          !policy ||
          l4.proxyPortPriority > policy.proxyPortPriority ||
          (l4.proxyPortPriority === policy.proxyPortPriority && l4.prefixLen > policy.prefixLen))
      ) {
        chosen = l4;
        out.matchedIdentity = 0;
      } else if (policy) {
        chosen = policy;
        out.matchedIdentity = remoteIdentity;
      }
    }
    if (chosen === policy && policy) out.matchedIdentity = remoteIdentity;
    if (!chosen) {
      out.verdict = 'DENY';
      out.dropReason = 'POLICY_DENIED';
      return out;
    }
    if (chosen.deny) {
      out.verdict = 'DENY';
      out.dropReason = 'POLICY_DENY';
      return out;
    }
    out.proxyPort = chosen.proxyPort;
    out.verdict = chosen.proxyPort ? 'REDIRECT' : 'ALLOW';
    return out;
  }

  /**
   * The HTTP rules the proxy applies for a redirected flow: those of every redirect entry that matches
   * (identity or wildcard, longest proto/port prefix), as Envoy gets them per remote identity and port.
   */
  httpRules(remoteIdentity: number, egress: 0 | 1, dport: number): HttpRule[] {
    const out: HttpRule[] = [];
    for (const id of [remoteIdentity, 0]) {
      const r = this.http.get(`${id}/${egress}/${dport}`);
      if (r) out.push(...r);
    }
    return out;
  }
}

export class PolicyMapOverflow {
  constructor(
    readonly needed: number,
    readonly maxEntries: number,
  ) {}
}

/** Builds the endpoint's map, or reports an overflow without touching anything (the caller keeps the old map). */
export function buildBpfEndpointPolicy(
  pc: PolicyContext,
  ep: EndpointPolicy,
  maxEntries: number,
  newMap: (max: number) => PolicyMapWriter = (m) => new InMemoryPolicyMap(m),
): BpfEndpointPolicy | PolicyMapOverflow {
  const entries = computeEntries(pc, ep);
  if (entries.length > maxEntries) return new PolicyMapOverflow(entries.length, maxEntries);
  const map = newMap(maxEntries);
  const http: Array<[string, HttpRule[]]> = [];
  for (const p of entries) {
    map.update(p.key, p.value);
    // Redirect entries are single TCP ports (the compiler refuses L7 on ranges), so the proxy indexes by port.
    if (p.http.length && p.key.prefixLen === LPM_FULL_PREFIX_BITS) http.push([`${p.key.identity}/${p.key.egress}/${p.key.dport}`, p.http]);
  }
  return new BpfEndpointPolicy(map, ep.ingress.enforced, ep.egress.enforced, http);
}
